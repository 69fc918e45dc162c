/** The accumulator log's segments: the generic log's (core `log/`), with the coarse windows their points touched. */
import type { LogSegment } from '@carillon/core';

export { listSegmentIndexes, segmentPath, syncDirectory } from '@carillon/core';

export interface Segment extends LogSegment {
  /**
   * End of the latest coarsest window the segment's points were stored in (0: none). Known only after its lines
   * were parsed, so it is kept in memory (raised after each record is aggregated, computed again on replay).
   */
  coarseEnd: number;
}

export const segmentOf = (segment: LogSegment): Segment => ({ ...segment, coarseEnd: 0 });
