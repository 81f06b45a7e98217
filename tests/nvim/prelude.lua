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
local fake = os.getenv("FAKE_LEAN_NVIM")
if fake and fake ~= "" then vim.opt.runtimepath:append(fake) end
