/**
 * README sections generated from bench-results: the text between `<!-- results:NAME:start -->` and
 * `<!-- results:NAME:end -->` belongs to the renderer, everything else to people.
 */
export function sectionMarkers(name: string): { start: string; end: string } {
  return { start: `<!-- results:${name}:start -->`, end: `<!-- results:${name}:end -->` };
}

/** The text between the markers of `name`, or undefined when the README has no such section. */
export function readSection(readme: string, name: string): string | undefined {
  const { start, end } = sectionMarkers(name);
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) return undefined;
  return readme.slice(from + start.length, to);
}

/** The README with section `name` replaced by `body` (a leading and trailing newline are added). */
export function writeSection(readme: string, name: string, body: string): string {
  const { start, end } = sectionMarkers(name);
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README has no ${start} … ${end} section`);
  return `${readme.slice(0, from + start.length)}\n${body.trimEnd()}\n${readme.slice(to)}`;
}
