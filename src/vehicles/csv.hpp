#pragma once
// Private to vehicles: an RFC 4180 record reader over text in memory (the importer maps the file).
// Fields are separated by commas; a field in double quotes may hold commas, line breaks and
// doubled quotes (""). Records end with CRLF or LF. A leading UTF-8 byte-order mark is skipped.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace motorpool::vehicles {

class CsvReader {
public:
    explicit CsvReader(std::string_view text, std::size_t max_record_bytes = std::size_t{1} << 20);

    enum class Status { Record, Malformed, End };

    /// Reads the next record into `fields`. On Malformed (a stray quote, an unterminated quoted
    /// field, a record over the size limit) `error` says why and reading resumes on the next line
    /// after the record's start, so one bad record never swallows the rest of the file.
    Status next(std::vector<std::string>& fields, std::string& error);

    /// Physical line (1-based) where the last record returned started.
    std::int64_t record_line() const { return record_line_; }
    std::size_t offset() const { return pos_; }

private:
    void skip_to_next_line(std::size_t from);

    std::string_view text_;
    std::size_t max_record_bytes_;
    std::size_t pos_ = 0;
    std::int64_t line_ = 1;
    std::int64_t record_line_ = 0;
};

}  // namespace motorpool::vehicles
