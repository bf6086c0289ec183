import { parseArgs } from "node:util";
import { UsageError } from "@model-recover/pipeline";

/** One flag of a command, declared once: the parser, `--help` and the README table come from here. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string;
  /** What the value is, as `--help` shows it: `<folder>`. */
  value?: string;
  /** The environment variable that sets it when the flag is absent. */
  env?: string;
  required?: boolean;
  description: string;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments as the usage line shows them: `<recipe>`. */
  positionals?: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Paragraphs after the options. */
  notes?: string;
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** Parse `argv` by the command's declaration; unknown flags and missing required ones are usage errors. */
export function parseCommand(spec: CommandSpec, argv: string[]): { values: ParsedValues; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: spec.positionals !== undefined, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} (try model-recover ${spec.name} --help)`);
  }
  const values = parsed.values as ParsedValues;
  if (!values.help) {
    for (const [name, o] of Object.entries(spec.options)) {
      if (o.required && values[name] === undefined) throw new UsageError(`${spec.name} needs --${name} ${o.value ?? ""}`.trimEnd() + ` (try model-recover ${spec.name} --help)`);
    }
  }
  return { values, positionals: parsed.positionals };
}

/** The usage line: every option, required ones bare, optional ones in brackets, repeatable ones with `...`. */
export function usageLine(spec: CommandSpec): string {
  const words = [`model-recover ${spec.name}`, ...(spec.positionals ? [spec.positionals] : [])];
  for (const [name, o] of Object.entries(spec.options)) {
    if (name === "help") continue;
    const flag = `--${name}${o.value ? ` ${o.value}` : ""}`;
    words.push(o.required ? flag : `[${flag}]${o.multiple ? "..." : ""}`);
  }
  return wrap(words, "Usage: ", " ".repeat(`Usage: model-recover ${spec.name} `.length));
}

/** `--help`: usage, what the command does, every option with its environment variable and default. */
export function helpText(spec: CommandSpec, footer?: string): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.value ? ` ${o.value}` : ""}`;
    const extras = [o.default !== undefined ? `default: ${o.default}` : "", o.env ? `env ${o.env}` : ""].filter(Boolean).join("; ");
    return [flag, `${o.description}${extras ? ` (${extras})` : ""}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = rows.flatMap(([flag, text]) => wrapText(text, 100 - width - 2).map((line, i) => `  ${(i === 0 ? flag : "").padEnd(width)}${line}`));
  return [usageLine(spec), "", ...wrapText(spec.summary, 100), "", ...lines, ...(spec.notes ? ["", ...wrapText(spec.notes, 100)] : []), ...(footer ? ["", footer] : [])].join("\n");
}

/** The README's table of a command's options, generated so that the two cannot drift apart. */
export function markdownTable(spec: CommandSpec): string {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const rows = Object.entries(spec.options)
    .filter(([name]) => name !== "help")
    .map(([name, o]) => {
      const flag = `\`--${name}${o.value ? ` ${o.value}` : ""}\``;
      const what = `${o.description}${o.default !== undefined ? ` (default: ${o.default})` : ""}`;
      return `| ${cell(flag)} | ${o.env ? `\`${o.env}\`` : ""} | ${cell(what)} |`;
    });
  return ["| flag | environment | what it is |", "|---|---|---|", ...rows].join("\n");
}

function wrap(words: string[], first: string, indent: string): string {
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    if (line.length + word.length + 1 > 100 && line.trim() !== first.trim()) {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join("\n");
}

function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}
