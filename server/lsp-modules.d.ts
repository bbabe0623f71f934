/**
 * Type-resolution shims for the LSP packages. The repository's tsconfig uses `moduleResolution: node10`, which
 * ignores package.json `exports`, and vscode-languageserver 11 / vscode-languageserver-protocol 3.18 /
 * vscode-jsonrpc 10 publish their typings only through `exports` (no top-level `types`). Without these
 * declarations every LSP type silently becomes `any`. Each declaration re-exports the file that the package's
 * `exports` map names, so the types are exactly the published ones; at run time Node and esbuild resolve the
 * subpaths through `exports` as usual. Delete this file when the tsconfig moves to `node16` or `bundler`.
 */

declare module 'vscode-jsonrpc' {
  export * from 'vscode-jsonrpc/lib/common/api';
}
declare module 'vscode-jsonrpc/node' {
  export * from 'vscode-jsonrpc/lib/node/main';
}
declare module 'vscode-languageserver-protocol' {
  export * from 'vscode-languageserver-protocol/lib/common/api';
}
declare module 'vscode-languageserver-protocol/node' {
  export * from 'vscode-languageserver-protocol/lib/node/main';
}
declare module 'vscode-languageserver' {
  export * from 'vscode-languageserver/lib/common/api';
}
declare module 'vscode-languageserver/node' {
  export * from 'vscode-languageserver/lib/node/main';
}
declare module 'vscode-languageclient' {
  export * from 'vscode-languageclient/lib/common/api';
}
declare module 'vscode-languageclient/node' {
  export * from 'vscode-languageclient/lib/node/main';
}
