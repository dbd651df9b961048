#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/status.h"

// The export file (proto/mutualaid/audit/v1/export.proto): length-delimited ExportRecords, and
// its JSON manifest. The reader streams with a fixed buffer and hands out views into it, so an
// audit of any size reads each byte once and keeps none of it.
namespace claims::audit {

// One record of an export file. The views point into the reader's buffer and stay valid until
// the next call to the reader.
struct RecordView {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view envelope;  // the serialized Envelope, as it was on the topic
  uint64_t position = 0;      // byte position of the record's length prefix in the file
};

// What the manifest says of one (topic, partition).
struct PartitionRange {
  std::string topic;
  int32_t partition = 0;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  uint64_t count = 0;
  friend bool operator==(const PartitionRange&, const PartitionRange&) = default;
};

struct Manifest {
  std::string file;  // the export file's name, without directories
  uint64_t bytes = 0;
  std::string sha256;  // hex SHA-256 of the whole file
  uint64_t records = 0;
  std::vector<PartitionRange> partitions;  // sorted by (topic, partition)

  std::string ToJson() const;
  // INVALID_ARGUMENT naming `source` and the bad field.
  static Result<Manifest> FromJson(std::string_view text, const std::string& source);
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

// Where the manifest of `export_path` lives: export_path + ".manifest.json".
std::string ManifestPath(const std::string& export_path);
Result<Manifest> ReadManifest(const std::string& path);

// Writes an export file and, on Finish, its manifest. Not thread-safe.
class ExportWriter {
 public:
  // Creates (truncates) `path`. UNAVAILABLE when it cannot be opened.
  static Result<std::unique_ptr<ExportWriter>> Create(const std::string& path);
  ~ExportWriter();
  ExportWriter(const ExportWriter&) = delete;
  ExportWriter& operator=(const ExportWriter&) = delete;

  // Lists a partition in the manifest even when no record of it is appended.
  void DeclarePartition(const std::string& topic, int32_t partition);
  // Appends one record. Offsets of one partition must increase (asserted by INVALID_ARGUMENT).
  Status Append(std::string_view topic, int32_t partition, int64_t offset, std::string_view key,
                std::string_view envelope);
  // Flushes and closes the file and writes the manifest beside it. No call may follow.
  Result<Manifest> Finish();

 private:
  struct Impl;
  explicit ExportWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads an export file front to back, hashing it as it goes. Not thread-safe.
class ExportReader {
 public:
  // NOT_FOUND when `path` cannot be opened.
  static Result<std::unique_ptr<ExportReader>> Open(const std::string& path);
  ~ExportReader();
  ExportReader(const ExportReader&) = delete;
  ExportReader& operator=(const ExportReader&) = delete;

  // The next record in `record`: true; false at the clean end of the file. DATA_LOSS naming the
  // byte position when the framing or a record is broken (a truncated file, a bad length).
  Result<bool> Next(RecordView& record);
  // Reads the record at `position` (a RecordView::position seen earlier) without disturbing the
  // stream (thread-safe with the other reads); its views point into `storage`.
  Result<RecordView> ReadAt(uint64_t position, std::string& storage) const;
  // Starts again from the first record; the running hash restarts, or stops when `hash` is
  // false (a second pass need not hash the file again).
  Status Rewind(bool hash = true);

  uint64_t size() const;
  uint64_t position() const;  // bytes consumed so far
  // Hex SHA-256 of every byte consumed so far: the whole file's once Next returned false.
  std::string Sha256Hex() const;
  const std::string& path() const;

 private:
  struct Impl;
  explicit ExportReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses one ExportRecord's bytes (without the length prefix) into views of `bytes`.
// INVALID_ARGUMENT when they are not an ExportRecord.
Status ParseRecord(std::string_view bytes, RecordView& record);

}  // namespace claims::audit
