-- What lean.nvim ships as lsp/leanls.lua, reduced to what Neovim merges with the user's
-- vim.lsp.config("leanls", …): a cmd function that starts `lake serve` (so a cmd the user's
-- config fails to replace starts no sidecar), its filetypes, root markers, client capabilities
-- and init_options (Lean's own, which reach Lean through the sidecar unchanged). Read from
-- lean.nvim's tag nvim-0.11 (github.com/Julian/lean.nvim, lsp/leanls.lua); the rest of lean.nvim
-- (infoview, abbreviations, handlers) is not here.
return {
  filetypes = { "lean" },
  cmd = function(dispatchers, config)
    return vim.lsp.rpc.start({ "lake", "serve", "--", config.root_dir }, dispatchers,
      { cwd = config.root_dir })
  end,
  root_markers = { "lakefile.toml", "lakefile.lean", "lean-toolchain" },
  capabilities = { lean = { silentDiagnosticSupport = true, rpcWireFormat = "v1" } },
  init_options = { editDelay = 10, hasWidgets = true },
}
