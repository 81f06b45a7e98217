-- What lean.nvim ships as lsp/leanls.lua (its command, filetypes and root markers); the rest of
-- lean.nvim (infoview, abbreviations) is not here.
return {
  cmd = { "lake", "serve", "--" },
  filetypes = { "lean" },
  root_markers = { "lakefile.toml", "lakefile.lean", "lean-toolchain" },
}
