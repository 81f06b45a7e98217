-- Headless Neovim acting as a user: start lean-sidecar (over the stand-in Lean server), wait for
-- the holes, pick "Search proof for this sorry" then "Fill sorry: …" from the code-action menu,
-- and check the buffer; then hover a failing tactic and apply a verified replacement.
-- Environment: PYTHON, UPSTREAM (Lean server command line), PROJECT (a copy of the fixture
-- project), REPL_PATH, LAKE_PATH, CACHE_PATH. Exit code 0 on success, 1 on failure.
local function fail(msg)
  io.stderr:write("FAIL: " .. msg .. "\n")
  vim.cmd("cquit 1")
end
local function ok(msg) io.stdout:write("OK: " .. msg .. "\n") end

local project = os.getenv("PROJECT")
local cmd = { os.getenv("PYTHON"), "-m", "lean_sidecar", "serve", "--upstream", os.getenv("UPSTREAM") }
local init_options = { leanSidecar = {
  replPath = os.getenv("REPL_PATH"), lakePath = os.getenv("LAKE_PATH"),
  cachePath = os.getenv("CACHE_PATH"), tactics = { "nlinarith", "omega", "apply le_of_lt", "exact le_of_lt h" },
  hoverSamples = 0,
} }

local function start(path)
  vim.cmd("edit " .. path)
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].filetype = "lean"
  local config = { name = "lean-sidecar", cmd = cmd, root_dir = project, init_options = init_options }
  local id
  if vim.lsp.start then
    id = vim.lsp.start(config)
  else
    id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(bufnr, id)
  end
  local client = vim.lsp.get_client_by_id(id)
  if not vim.wait(20000, function() return client.initialized end, 50) then fail("no initialize") end
  return bufnr
end

local function request(bufnr, method, params, timeout)
  local res = vim.lsp.buf_request_sync(bufnr, method, params, timeout or 20000)
  if not res then return nil end
  for _, r in pairs(res) do
    if r.err then return nil, r.err end
    return r.result
  end
end

local function holes(bufnr)
  local uri = vim.uri_from_bufnr(bufnr)
  local result, err = request(bufnr, "leanSidecar/holes", { textDocument = { uri = uri } })
  if not result then fail("holes: " .. vim.inspect(err)) end
  return result
end

local function titles_at(bufnr, line, col)
  local params = vim.lsp.util.make_range_params and vim.lsp.util.make_range_params(0, "utf-16") or {}
  params.range = { start = { line = line, character = col }, ["end"] = { line = line, character = col } }
  params.textDocument = { uri = vim.uri_from_bufnr(bufnr) }
  params.context = { diagnostics = {} }
  local actions = request(bufnr, "textDocument/codeAction", params) or {}
  local t = {}
  for _, a in ipairs(actions) do t[#t + 1] = a.title end
  return t
end

-- Pick one entry of the code-action menu, as a user would.
local function choose(bufnr, line, col, wanted)
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  local picked
  vim.ui.select = function(items, _opts, on_choice)
    for i, it in ipairs(items) do
      local action = it.action or it[2]
      if action.title:find(wanted, 1, true) == 1 then picked = action.title; return on_choice(it, i) end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
  vim.wait(2000, function() return picked ~= nil end, 20)
  if not picked then fail("no action starting with '" .. wanted .. "' in " .. vim.inspect(titles_at(bufnr, line, col))) end
  return picked
end

-- 1. Fill sorry --------------------------------------------------------------------------------
local fill = start(project .. "/Fill.lean")
local h = holes(fill)
if #h.holes ~= 2 then fail("expected 2 holes, got " .. vim.inspect(h)) end
ok("holes " .. h.holes[1].declaration .. ", " .. h.holes[2].declaration)
choose(fill, 3, 2, "Search proof for this sorry")
if not vim.wait(30000, function()
  for _, t in ipairs(titles_at(fill, 3, 2)) do if t == "Fill sorry: omega" then return true end end
  return false
end, 100) then fail("no Fill action after the search: " .. vim.inspect(titles_at(fill, 3, 2))) end
choose(fill, 3, 2, "Fill sorry: omega")
if not vim.wait(5000, function() return vim.api.nvim_buf_get_lines(fill, 3, 4, false)[1] == "  omega" end, 50) then
  fail("buffer not filled: " .. vim.inspect(vim.api.nvim_buf_get_lines(fill, 0, -1, false)))
end
ok("line 4 is now '  omega'")

-- 2. Hover on a failing tactic ------------------------------------------------------------------
local hov = start(project .. "/Hover.lean")
local hh = holes(hov)
local failing
for _, x in ipairs(hh.holes) do if x.kind == "failingTactic" then failing = x end end
if not failing then fail("no failing tactic: " .. vim.inspect(hh)) end
local line, col = failing.range.start.line, failing.range.start.character
local params = { textDocument = { uri = vim.uri_from_bufnr(hov) }, position = { line = line, character = col + 2 } }
if not vim.wait(30000, function()
  local r = request(hov, "textDocument/hover", params)
  return r and r.contents and r.contents.value:find("checked by Lean", 1, true) ~= nil
end, 100) then fail("hover never listed replacements") end
-- What the user sees: K opens the hover window.
vim.api.nvim_win_set_cursor(0, { line + 1, col + 2 })
vim.lsp.buf.hover()
local float_text
vim.wait(5000, function()
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      float_text = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), "\n")
      return true
    end
  end
  return false
end, 50)
if not float_text or not float_text:find("exact le_of_lt h", 1, true) then fail("hover float: " .. tostring(float_text)) end
ok("hover shows a verified replacement")
for _, w in ipairs(vim.api.nvim_list_wins()) do
  if vim.api.nvim_win_get_config(w).relative ~= "" then vim.api.nvim_win_close(w, true) end
end
choose(hov, line, col, "Replace with: exact le_of_lt h")
if not vim.wait(5000, function() return vim.api.nvim_buf_get_lines(hov, line, line + 1, false)[1] == "  exact le_of_lt h" end, 50) then
  fail("tactic not replaced: " .. vim.inspect(vim.api.nvim_buf_get_lines(hov, 0, -1, false)))
end
local after = holes(hov)
if #after.holes ~= 0 then fail("still failing after the fix: " .. vim.inspect(after)) end
ok("failing tactic replaced; Lean reports no hole")
vim.cmd("qall!")
