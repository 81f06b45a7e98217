-- Test scaffolding loaded before docs/neovim.md's snippets (it changes none of them): record every
-- vim.deprecate call and every notification, so that the driver can fail on either.
_G.LEAN_SIDECAR_TEST = { deprecated = {}, notes = {} }
local deprecate = vim.deprecate
vim.deprecate = function(name, alternative, ...)
  table.insert(LEAN_SIDECAR_TEST.deprecated, tostring(name) .. " -> " .. tostring(alternative))
  return deprecate(name, alternative, ...)
end
vim.notify = function(msg, level)
  table.insert(LEAN_SIDECAR_TEST.notes, { msg = tostring(msg), level = level or vim.log.levels.INFO })
  io.stdout:write("NOTE: " .. (tostring(msg):gsub("\n", " | ")) .. "\n")
end
-- Neovim shows an LSP window/showMessage below Error with nvim_echo (0.10+) or nvim_out_write,
-- not vim.notify: record those lines too (the sidecar's Info messages, "LSP[…][Info] …").
local function record_lsp_line(text)
  if text:find("LSP%[") then
    table.insert(LEAN_SIDECAR_TEST.notes, { msg = text, level = vim.log.levels.INFO })
  end
end
local out_write, echo = vim.api.nvim_out_write, vim.api.nvim_echo
vim.api.nvim_out_write = function(text)
  record_lsp_line(tostring(text))
  return out_write(text)
end
if echo then
  vim.api.nvim_echo = function(chunks, ...)
    local text = ""
    for _, chunk in ipairs(chunks or {}) do text = text .. tostring(chunk[1]) end
    record_lsp_line(text)
    return echo(chunks, ...)
  end
end
local fake = os.getenv("FAKE_LEAN_NVIM")
if fake and fake ~= "" then vim.opt.runtimepath:append(fake) end
