// Reads README's ```sh blocks and their expected-output comments, and matches an expectation
// against printed lines. The convention (README's "Quick start" states it for readers):
// - A block is run unless the line before its fence is `<!-- readme-test: skip, <reason> -->`.
// - `# => <expected>`, at the end of a command line or on a line of its own under the command, is
//   what that command prints: one line of its output. Lines right under it that start with `#` and
//   three or more spaces continue it.
// - An expected line is compared in two parts: the text before its first `{` or `[` as text, the
//   rest as JSON, structurally. In text and in JSON strings `...` matches any characters; a bare
//   `...` in a JSON object allows other members, in an array other elements (otherwise objects must
//   have exactly the members shown and arrays exactly the elements shown, in order).

export interface Expectation {
  /** 1-based line within the block. */
  line: number;
  text: string;
  /** The command runs in the background (`&`): its output may come after later commands'. */
  background: boolean;
}

export interface Block {
  /** 1-based README line of the opening fence. */
  readmeLine: number;
  heading: string;
  code: string;
  skip: string | null;
  expectations: Expectation[];
}

const SKIP = /^<!-- readme-test: skip, (.+?) -->$/;
const EXPECT = "# => ";

export function readmeBlocks(readme: string): Block[] {
  const lines = readme.split("\n");
  const blocks: Block[] = [];
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.startsWith("```")) {
      const end = lines.findIndex((candidate, j) => j > i && candidate.startsWith("```"));
      if (end < 0) throw new Error(`README line ${i + 1}: unclosed fence`);
      if (line === "```sh") {
        const code = lines.slice(i + 1, end);
        const skip = SKIP.exec(lines[i - 1] ?? "")?.[1] ?? null;
        blocks.push({ readmeLine: i + 1, heading, code: code.join("\n"), skip, expectations: expectations(code) });
      }
      i = end;
    } else if (line.startsWith("#")) {
      heading = line.replace(/^#+\s*/, "");
    }
  }
  return blocks;
}

function expectations(code: string[]): Expectation[] {
  const found: Expectation[] = [];
  let lastCommand = "";
  for (let i = 0; i < code.length; i++) {
    const line = code[i] ?? "";
    const at = line.indexOf(EXPECT);
    const before = (at < 0 ? line : line.slice(0, at)).trim();
    if (before && !before.startsWith("#")) lastCommand = before.replace(/\s+#.*$/, "");
    if (at < 0) continue;
    const start = i + 1;
    let text = line.slice(at + EXPECT.length).trim();
    while (/^#\s{3,}/.test(code[i + 1] ?? "")) text += (code[++i] ?? "").slice(1).trim();
    found.push({ line: start, text, background: lastCommand.endsWith("&") });
  }
  return found;
}

const REST = "\u0000...";

/** JSON with `...` members/elements: parsed with those replaced by a marker. */
export function parseExpectedJson(text: string): unknown {
  let out = "";
  const stack: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? "";
    if (char === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
    } else if (text.startsWith("...", i)) {
      out += stack.at(-1) === "{" ? `${JSON.stringify(REST)}:true` : JSON.stringify(REST);
      i += 2;
    } else {
      if (char === "{" || char === "[") stack.push(char);
      if (char === "}" || char === "]") stack.pop();
      out += char;
    }
  }
  return JSON.parse(out);
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  throw new Error(`unterminated string in ${text}`);
}

function globMatches(pattern: string, actual: string): boolean {
  const source = pattern.split("...").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*");
  return new RegExp(`^${source}$`).test(actual);
}

export function jsonMatches(expected: unknown, actual: unknown): boolean {
  if (typeof expected === "string") return typeof actual === "string" && globMatches(expected, actual);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return false;
    const open = expected.includes(REST);
    const items = expected.filter((item) => item !== REST);
    if (open ? actual.length < items.length : actual.length !== items.length) return false;
    // With `...`, the shown elements must appear in order among the actual ones.
    let from = 0;
    for (const item of items) {
      const index = actual.findIndex((candidate, j) => j >= from && jsonMatches(item, candidate));
      if (index < 0 || (!open && index !== from)) return false;
      from = index + 1;
    }
    return true;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    const shown = Object.entries(expected).filter(([key]) => key !== REST);
    const open = REST in expected;
    if (!open && Object.keys(actual).length !== shown.length) return false;
    const record = actual as Record<string, unknown>;
    return shown.every(([key, value]) => key in record && jsonMatches(value, record[key]));
  }
  return expected === actual;
}

/** Whether one printed line is what `expected` says (see the convention above). */
export function lineMatches(expected: string, actual: string): boolean {
  const split = (text: string) => {
    const at = text.search(/[[{]/);
    return at < 0 ? [text, null] as const : [text.slice(0, at), text.slice(at)] as const;
  };
  const [expectedText, expectedJson] = split(expected.trim());
  const [actualText, actualJson] = split(actual.trim());
  if (!globMatches(expectedText.trim(), actualText.trim())) return false;
  if (expectedJson === null || actualJson === null) return expectedJson === actualJson;
  let parsed: unknown;
  try {
    parsed = JSON.parse(actualJson);
  } catch {
    return false;
  }
  return jsonMatches(parseExpectedJson(expectedJson), parsed);
}
