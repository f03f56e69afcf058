// Type-aware lint rules. Each security bug we fix becomes a rule here or a test.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "build/**", "node_modules/**", "examples/**", "scripts/**", "guests/**", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["it", "describe", "test", "before", "after", "beforeEach", "afterEach"] }] },
      ],
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        { selector: "ExportAllDeclaration", message: "Use explicit named re-exports, never export *." },
        { selector: "Property[key.name='shell'][value.value=true]", message: "shell: true is forbidden." },
      ],
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "node:wasi", message: "node:wasi follows symlinks out of preopens; use src/wasm/wasi." },
            { name: "node:child_process", importNames: ["exec", "execSync"], message: "Never run a shell string; spawn { file, args } with shell: false." },
          ],
        },
      ],
    },
  },
);
