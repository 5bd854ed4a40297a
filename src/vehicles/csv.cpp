// RFC 4180 record reader.

#include "csv.hpp"

namespace motorpool::vehicles {

CsvReader::CsvReader(std::string_view text, std::size_t max_record_bytes)
    : text_(text), max_record_bytes_(max_record_bytes) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
        pos_ = 3;
    }
}

void CsvReader::skip_to_next_line(std::size_t from) {
    auto nl = text_.find('\n', from);
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    line_ = record_line_ + 1;
}

CsvReader::Status CsvReader::next(std::vector<std::string>& fields, std::string& error) {
    fields.clear();
    // Blank lines between records are not records.
    while (pos_ < text_.size() &&
           (text_[pos_] == '\n' || (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n'))) {
        pos_ += text_[pos_] == '\r' ? 2 : 1;
        ++line_;
    }
    if (pos_ >= text_.size()) {
        return Status::End;
    }
    record_line_ = line_;
    const std::size_t start = pos_;
    std::string field;
    std::size_t i = pos_;
    const std::size_t n = text_.size();
    while (true) {
        if (i - start > max_record_bytes_) {
            error = "record longer than " + std::to_string(max_record_bytes_) + " bytes (unterminated quote?)";
            skip_to_next_line(start);
            return Status::Malformed;
        }
        if (i < n && text_[i] == '"') {
            // Quoted field: runs to the closing quote; "" is one quote.
            ++i;
            std::int64_t lines = 0;
            while (true) {
                auto q = text_.find('"', i);
                if (q == std::string_view::npos || q - start > max_record_bytes_) {
                    error = q == std::string_view::npos ? "unterminated quoted field"
                                                        : "record longer than " + std::to_string(max_record_bytes_) +
                                                              " bytes (unterminated quote?)";
                    skip_to_next_line(start);
                    return Status::Malformed;
                }
                std::string_view chunk = text_.substr(i, q - i);
                for (char c : chunk) {
                    lines += c == '\n' ? 1 : 0;
                }
                field.append(chunk);
                if (q + 1 < n && text_[q + 1] == '"') {
                    field.push_back('"');
                    i = q + 2;
                    continue;
                }
                i = q + 1;
                break;
            }
            line_ += lines;
            if (i < n && text_[i] != ',' && text_[i] != '\n' && text_[i] != '\r') {
                error = "unexpected character after a closing quote";
                skip_to_next_line(start);
                return Status::Malformed;
            }
        } else {
            // Unquoted field: up to the next comma or line end; a quote inside is malformed.
            std::size_t end = i;
            while (end < n && text_[end] != ',' && text_[end] != '\n' && text_[end] != '\r') {
                if (text_[end] == '"') {
                    error = "quote inside an unquoted field";
                    skip_to_next_line(start);
                    return Status::Malformed;
                }
                ++end;
            }
            field.assign(text_.substr(i, end - i));
            i = end;
        }
        fields.push_back(std::move(field));
        field.clear();
        if (i >= n) {
            pos_ = n;
            return Status::Record;
        }
        if (text_[i] == ',') {
            ++i;
            continue;
        }
        // Line end: \n, \r\n, or a lone \r (treated as a line end too).
        if (text_[i] == '\r' && i + 1 < n && text_[i + 1] == '\n') {
            ++i;
        }
        pos_ = i + 1;
        ++line_;
        return Status::Record;
    }
}

}  // namespace motorpool::vehicles
