-- lean.nvim enables its client when loaded.
vim.lsp.enable("leanls")
