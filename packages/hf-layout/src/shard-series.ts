// transformers names shards `<prefix>-<i:05d>-of-<n:05d><ext>` (pytorch_model-00001-of-00003.bin),
// so every shard carries the total of its series and a gap is visible from any one member.
const SERIES_MEMBER = /^(.+)-(\d+)-of-(\d+)(\.[A-Za-z0-9]+)$/;
// Bounds the expansion of a hostile `-of-99999999` name; the largest public checkpoints have a few
// hundred shards.
export const MAX_SERIES_TOTAL = 10_000;

export interface SeriesMember {
  prefix: string;
  number: number;
  total: number;
  /** The total as written, which also gives the zero-padded width of every member's number. */
  totalText: string;
  extension: string;
}

export function parseSeriesMember(name: string): SeriesMember | undefined {
  const match = SERIES_MEMBER.exec(name);
  if (!match) return undefined;
  const [, prefix = "", numberText = "", totalText = "", extension = ""] = match;
  return { prefix, number: Number(numberText), total: Number(totalText), totalText, extension };
}

export function seriesMemberName(member: Omit<SeriesMember, "number">, number: number): string {
  const padded = String(number).padStart(member.totalText.length, "0");
  return `${member.prefix}-${padded}-of-${member.totalText}${member.extension}`;
}

export interface SeriesCheck {
  /** Members of every series seen that are not in `present`, sorted. */
  missing: string[];
  /** Series-shaped names that cannot belong to their own series: 0 of 3, 4 of 3, or an absurd total. */
  outOfSeries: string[];
}

/** Expands each series that `names` mention to 1..total and lists the members not present. */
export function checkShardSeries(names: Iterable<string>, present: ReadonlySet<string>): SeriesCheck {
  const series = new Map<string, SeriesMember>();
  const outOfSeries = new Set<string>();
  for (const name of names) {
    const member = parseSeriesMember(name);
    if (!member) continue;
    if (member.number < 1 || member.number > member.total || member.total > MAX_SERIES_TOTAL) {
      outOfSeries.add(name);
      continue;
    }
    series.set(`${member.prefix}\0${member.totalText}\0${member.extension}`, member);
  }
  const missing = new Set<string>();
  for (const member of series.values()) {
    for (let number = 1; number <= member.total; number++) {
      const name = seriesMemberName(member, number);
      if (!present.has(name)) missing.add(name);
    }
  }
  return { missing: [...missing].sort(), outOfSeries: [...outOfSeries].sort() };
}
