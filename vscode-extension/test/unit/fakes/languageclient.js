// vscode-languageclient/node for the unit tests: the recording LanguageClient of ./vscode.js.
module.exports = { LanguageClient: require("./vscode").fake.LanguageClient };
