import { splitCanonical } from '@carillon/core';

/** The tags Graphite reports for a series: its own tags plus `name`, the path. */
export function seriesTags(canonical: string): Record<string, string> {
  const { path, tags } = splitCanonical(canonical);
  const result: Record<string, string> = { name: path };
  for (const [tag, value] of tags) result[tag] = value;
  return result;
}
