// A fresh WAL for a cleanly stopped data directory, on every major 13-18, without pg_resetwal
// (which exists only as a client tool of the data's own major, and the npm servers carry none).
//
// After a clean shutdown every change is in the data files and a start reads only the shutdown
// checkpoint record (pg_control's checkPoint, whose redo is itself). So what pg_wal must keep is
// that record, in its segment, under valid page headers; every other segment (older ones,
// recycled ones named for the future, a promotion's .partial) and every other byte of the kept
// segment can go. That is what the masking residue needs: no WAL record or full-page image of
// an original survives. Unlike pg_resetwal, the WAL position, timeline and pg_control stay as
// they are.
//
// The kept segment keeps the header of each page up to the record's last one, so the run of
// valid pages from the segment's start reaches the record, with every other byte of those pages
// and every later page zeroed, as a freshly initialised segment has. A clone's WAL copy
// (cloning/clone_wal.h) takes of it only the first page and the record's pages.
// The formats read here (pg_control's first fields, page headers, the record header) are the
// same on 13-18.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace dblab {

// Where a cleanly stopped server's shutdown checkpoint record is (from global/pg_control).
struct ShutdownCheckpoint {
  uint64_t lsn = 0;
  uint32_t timeline = 0;
};

// What global/pg_control says of where a start reads WAL: the last checkpoint record, its redo
// point (where replay starts; the checkpoint itself after a clean shutdown) and timeline.
struct ControlPoints {
  bool shut_down = false;  // DB_SHUTDOWNED
  uint64_t checkpoint = 0;
  uint64_t redo = 0;
  uint32_t timeline = 0;
};
Result<ControlPoints> ReadControlPoints(const std::string& data_dir);

// Reads global/pg_control of `data_dir`; kFailedPrecondition unless it was stopped cleanly.
Result<ShutdownCheckpoint> ReadShutdownCheckpoint(const std::string& data_dir);

// The WAL file name of the segment holding `lsn` ("00000001000000000000000A").
std::string WalSegmentName(uint32_t timeline, uint64_t lsn, uint64_t segment_size);

// Zeroes every byte of the segment in `bytes` (starting at `segment_start`) that is neither a
// page header up to the record at `record_offset`'s last page nor that record. Fails when the
// bytes are no valid segment, no shutdown checkpoint record is at the offset, or the record
// runs past the segment's end. Pure, for tests.
Status KeepOnlyCheckpointRecord(std::string& bytes, uint64_t segment_start, size_t record_offset);

// The whole step on the cleanly stopped `data_dir` (the engine's user may be root; files keep
// their owner and mode): rewrites the checkpoint's segment as above and removes every other
// segment, .partial file and their archive_status entries. Timeline history files stay.
Status KeepOnlyShutdownCheckpoint(const std::string& data_dir);

}  // namespace dblab
