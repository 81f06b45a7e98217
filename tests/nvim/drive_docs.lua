-- Headless Neovim as a user with docs/neovim.md's snippets in their init.lua (tests/test_neovim.py
-- writes it): open a Lean file, list the holes, fill a sorry after ℝ ≤ 𝔽 with the keymap, trace an
-- unsolved one, open a second file of the same project (same client), fill every sorry, cancel a
-- search that hangs, and check that the snippet's settings (its endpoint) reached the sidecar.
-- Environment: PROJECT, CLIENT_NAME. Exit code 0 on success, 1 on failure.
local T = LEAN_SIDECAR_TEST
local project = os.getenv("PROJECT")
local name = os.getenv("CLIENT_NAME")
local function fail(msg)
  io.stderr:write("FAIL: " .. msg .. "\n")
  vim.cmd("cquit 1")
end
local function ok(msg) io.stdout:write("OK: " .. msg .. "\n") end
-- A wrong position is recorded and the run goes on, so one failure does not hide the others.
local misplaced = {}
local function check(cond, msg)
  if not cond then
    io.stderr:write("FAIL: " .. msg .. "\n")
    misplaced[#misplaced + 1] = msg
  end
  return cond
end

local function clients()
  if vim.lsp.get_clients then return vim.lsp.get_clients({ name = name }) end
  local found = {}
  for _, c in pairs(vim.lsp.get_active_clients()) do if c.name == name then found[#found + 1] = c end end
  return found
end
local function attached(bufnr)
  if vim.lsp.get_clients then return vim.lsp.get_clients({ bufnr = bufnr, name = name })[1] end
  for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do if c.name == name then return c end end
end

-- Run a user command (or keys) until `done()` holds; a "try again" answer (Lean still checking
-- the file) is retried as a user would.
local function until_done(run, done, what, timeout)
  local deadline = vim.loop.now() + (timeout or 90000)
  while vim.loop.now() < deadline do
    local seen = #T.notes
    run()
    local retry = false
    vim.wait(10000, function()
      if done() then return true end
      for i = seen + 1, #T.notes do
        if T.notes[i].msg:find("try again", 1, true) or T.notes[i].msg:find("no lean-sidecar client", 1, true) then
          retry = true
          return true
        end
      end
      return false
    end, 50)
    if done() then return end
    if retry then vim.wait(300) end
  end
  fail(what .. "; notes: " .. vim.inspect(T.notes))
end
local function note_since(n, pattern)
  for i = n + 1, #T.notes do if T.notes[i].msg:find(pattern) then return T.notes[i].msg end end
end

-- 1. open a file: the snippet starts the sidecar for the project
vim.cmd("edit " .. project .. "/Wide.lean")
local wide = vim.api.nvim_get_current_buf()
if not vim.wait(30000, function() local c = attached(wide); return c ~= nil and c.initialized end, 50) then
  fail("no " .. name .. " client attached to Wide.lean (filetype=" .. vim.bo[wide].filetype .. ")")
end
ok("client attached")

-- 2. :LeanSidecarHoles fills the quickfix list
until_done(function() vim.cmd("LeanSidecarHoles") end, function()
  local qf = vim.fn.getqflist({ title = 1, items = 1 })
  return qf.title == "lean-sidecar holes" and #qf.items == 2
end, "the holes never reached the quickfix list")
local items = vim.fn.getqflist()
vim.cmd("cclose")
vim.api.nvim_set_current_buf(wide)
local wide_line = vim.api.nvim_buf_get_lines(wide, 2, 3, false)[1]
local sorry_col = wide_line:find("sorry", 1, true)   -- 1-based byte column
if items[2].lnum ~= 6 then fail("second hole at line " .. items[2].lnum) end
if check(items[1].lnum == 3 and items[1].col == sorry_col,
  ("quickfix entry at %d:%d, the sorry is at 3:%d"):format(items[1].lnum, items[1].col, sorry_col)) then
  ok("holes listed at 3:" .. sorry_col .. " and 6")
end

-- 3. <leader>lf on the sorry after ℝ ≤ 𝔽
vim.api.nvim_win_set_cursor(0, { 3, sorry_col - 1 })
local want = "theorem wide_field (𝔽 : Type) (x : ℝ) (h : 0 ≤ x) : 0 ≤ x := by positivity"
local n0 = #T.notes
until_done(function() vim.api.nvim_win_set_cursor(0, { 3, sorry_col - 1 }); vim.cmd("normal \\lf") end,
  function()
    return vim.api.nvim_buf_get_lines(wide, 2, 3, false)[1] ~= wide_line
      or note_since(n0, "^lean%-sidecar: no sorry at") ~= nil
  end, "the fill did not happen")
local got = vim.api.nvim_buf_get_lines(wide, 2, 3, false)[1]
if check(got == want, "the fill landed wrong: line 3 is " .. vim.inspect(got) .. "; notes: "
  .. vim.inspect(T.notes)) then
  ok("line 3 is now '" .. want .. "'")
end

-- 4. a sorry nothing proves: the user is told why, once (the sidecar's window/showMessage, which
-- Neovim shows as "LSP[lean_sidecar] …": here the endpoint is down, elsewhere "no proof of the
-- sorry at …"), and the trace says why
local n = #T.notes
local function told()
  return note_since(n, "lean%-sidecar: no proof of the sorry at Wide%.lean:6:3: ")
    or note_since(n, "lean%-sidecar: proof search stopped: ")
end
until_done(function() vim.api.nvim_win_set_cursor(0, { 6, 2 }); vim.cmd("LeanSidecarFill") end,
  function() return told() ~= nil end, "no message saying how the search ended")
vim.wait(500)
local outcome = 0
for i = n + 1, #T.notes do
  local msg = T.notes[i].msg
  if msg:find("no proof", 1, true) or msg:find("proof search stopped", 1, true) then outcome = outcome + 1 end
end
if outcome ~= 1 then fail("the outcome was told " .. outcome .. " times: " .. vim.inspect(T.notes)) end
ok("unsolved sorry reported: " .. told())
n = #T.notes
until_done(function() vim.api.nvim_win_set_cursor(0, { 6, 2 }); vim.cmd("LeanSidecarTrace") end,
  function() return note_since(n, "^lean%-sidecar: %a+ after") ~= nil end, "no trace")
local trace = note_since(n, "^lean%-sidecar: %a+ after")
if not trace:find("\n", 1, true) then fail("the trace lists no attempt: " .. trace) end
ok("trace: " .. (trace:gsub("\n.*", "")))
-- 5. a second file of the same project: the same client, and fill-all
vim.cmd("edit " .. project .. "/Rest.lean")
local rest = vim.api.nvim_get_current_buf()
if not vim.wait(20000, function() return attached(rest) ~= nil end, 50) then fail("Rest.lean not attached") end
if #clients() ~= 1 then fail(#clients() .. " clients for one project") end
if attached(rest).id ~= attached(wide).id then fail("Rest.lean got its own client") end
ok("one client for the project")
until_done(function() vim.cmd("LeanSidecarFillAll") end, function()
  local l = vim.api.nvim_buf_get_lines(rest, 0, -1, false)
  return l[4] == "  omega" and l[7] == "  simp"
end, "fill-all did not fill Rest.lean: " .. vim.inspect(vim.api.nvim_buf_get_lines(rest, 0, -1, false)))
ok("fill-all filled Rest.lean")

-- 6. a search that hangs (the stand-in REPL never answers `aesop` there): cancel stops it
vim.cmd("edit " .. project .. "/Slow.lean")
local slow = vim.api.nvim_get_current_buf()
if not vim.wait(20000, function() return attached(slow) ~= nil end, 50) then fail("Slow.lean not attached") end
if #clients() ~= 1 then fail(#clients() .. " clients for one project") end
vim.fn.setqflist({}, " ", { title = "none yet" })
until_done(function() vim.cmd("LeanSidecarHoles") end, function()
  local qf = vim.fn.getqflist({ title = 1, items = 1 })
  return qf.title == "lean-sidecar holes" and #qf.items == 1
end, "Slow.lean's hole never reached the quickfix list")
vim.cmd("cclose")
vim.api.nvim_set_current_buf(slow)
n = #T.notes
vim.api.nvim_win_set_cursor(0, { 4, 2 })
vim.cmd("LeanSidecarFill")
local cancelled
local deadline = vim.loop.now() + 30000
while not cancelled and vim.loop.now() < deadline do
  local m = #T.notes
  vim.cmd("LeanSidecarCancel")
  vim.wait(3000, function() return note_since(m, "^lean%-sidecar: cancelled %d+ searches") ~= nil end, 50)
  cancelled = note_since(m, "^lean%-sidecar: cancelled [1-9]%d* searches")
  if not cancelled then vim.wait(300) end
end
if not cancelled then fail(":LeanSidecarCancel never cancelled the running search") end
if not vim.wait(10000, function() return note_since(n, "^lean%-sidecar: no proof found %(cancelled%)") ~= nil end, 50) then
  fail("the cancelled search did not end: " .. vim.inspect(T.notes))
end
ok("cancel stopped the running search: " .. cancelled)

-- 7. the snippet's settings reached the sidecar: it has the endpoint of its init_options (the
-- test sets no LEAN_SIDECAR_ENDPOINTS), whether or not anything answers there
local answer
vim.lsp.buf_request(slow, "workspace/executeCommand",
  { command = "leanSidecar.checkEndpoint", arguments = { {} } }, function(err, result, ctx)
    if ctx.client_id == attached(slow).id then answer = { err = err, result = result } end
  end)
if not vim.wait(20000, function() return answer ~= nil end, 50) then fail("checkEndpoint: no answer") end
local status = answer.result or {}
local where = tostring(status.endpoint or status.error or "")
if answer.err or not status.configured or not where:find("127.0.0.1:8000", 1, true) then
  fail("the sidecar has not the snippet's endpoint: " .. vim.inspect(answer))
end
ok("the snippet's endpoint reached the sidecar: " .. where:sub(1, 60))

-- 8. nothing deprecated was called, and no warning other than ours
if #T.deprecated > 0 then fail("deprecated calls: " .. vim.inspect(T.deprecated)) end
for _, note in ipairs(T.notes) do
  -- ours: the sidecar's window/showMessage, which Neovim prefixes with the client's name
  local ours = note.msg:find("^lean%-sidecar: ")
    or note.msg:find("^LSP%[" .. vim.pesc(name) .. "%] lean%-sidecar: ")
  if note.level >= vim.log.levels.WARN and not ours then
    fail("unexpected warning: " .. note.msg)
  end
end
ok("no deprecated call, no foreign warning")
if #misplaced > 0 then fail(#misplaced .. " misplaced: " .. table.concat(misplaced, "; ")) end
vim.cmd("qall!")
