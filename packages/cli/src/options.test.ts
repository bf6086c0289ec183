import { describe, expect, it } from "vitest";
import { helpText, parseCommand, usageLine } from "./options.js";
import { packSpec } from "./pack-command.js";
import { commandSpecs, mainHelp } from "./run-cli.js";

describe("every flag is declared once: the parser, --help and the README follow the declaration", () => {
  it("has a --help per command that lists every flag it parses, in its usage line and its table (snapshot)", () => {
    for (const spec of commandSpecs) {
      const help = helpText(spec);
      for (const name of Object.keys(spec.options)) expect(help, `${spec.name} --${name}`).toContain(`--${name}`);
      for (const name of Object.keys(spec.options).filter((n) => n !== "help")) expect(usageLine(spec), `${spec.name} usage`).toContain(`--${name}`);
      expect(help).toMatchSnapshot(spec.name);
    }
    expect(mainHelp()).toMatchSnapshot("model-recover --help");
  });

  it("refuses a missing required flag and an unknown one as usage errors that say what to do", () => {
    expect(() => parseCommand(packSpec, ["--model", "m", "--base", "b", "--out", "o"])).toThrow(/^pack needs --name <name> \(try model-recover pack --help\)$/);
    expect(() => parseCommand(packSpec, ["--bogus"])).toThrow(/Unknown option '--bogus'.* \(try model-recover pack --help\)$/);
    expect(parseCommand(packSpec, ["--help"]).values.help).toBe(true);
  });
});
