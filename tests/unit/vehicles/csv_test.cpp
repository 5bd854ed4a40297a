// RFC 4180 reader: quoting, line endings, embedded line breaks, and recovery after a bad record.

#include "csv.hpp"

#include <gtest/gtest.h>

namespace motorpool::vehicles {
namespace {

using Fields = std::vector<std::string>;

struct Read {
    CsvReader::Status status;
    Fields fields;
    std::string error;
    std::int64_t line;
};

std::vector<Read> read_all(std::string_view text, std::size_t limit = 1 << 20) {
    CsvReader reader(text, limit);
    std::vector<Read> out;
    while (true) {
        Read r{};
        r.status = reader.next(r.fields, r.error);
        if (r.status == CsvReader::Status::End) {
            return out;
        }
        r.line = reader.record_line();
        out.push_back(r);
    }
}

TEST(Csv, PlainRecordsWithLfAndCrlf) {
    auto records = read_all("a,b,c\r\n1,2,3\n4,,6");
    ASSERT_EQ(records.size(), 3U);
    EXPECT_EQ(records[0].fields, (Fields{"a", "b", "c"}));
    EXPECT_EQ(records[1].fields, (Fields{"1", "2", "3"}));
    EXPECT_EQ(records[2].fields, (Fields{"4", "", "6"}));
    EXPECT_EQ(records[2].line, 3);
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
    auto records = read_all("x,y\n\"a, b\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,1\n");
    ASSERT_EQ(records.size(), 4U);
    EXPECT_EQ(records[1].fields, (Fields{"a, b", "say \"hi\""}));
    EXPECT_EQ(records[2].fields, (Fields{"two\nlines", "z"}));
    EXPECT_EQ(records[2].line, 3);
    EXPECT_EQ(records[3].line, 5);  // the embedded line break counts as a physical line
}

TEST(Csv, EmptyQuotedAndTrailingEmptyField) {
    auto records = read_all("\"\",a,\n");
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].fields, (Fields{"", "a", ""}));
}

TEST(Csv, ByteOrderMarkAndBlankLinesAreSkipped) {
    auto records = read_all("\xEF\xBB\xBFvin,make\n\n\r\nA,B\n");
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].fields, (Fields{"vin", "make"}));
    EXPECT_EQ(records[1].line, 4);
}

TEST(Csv, StrayQuoteIsMalformedAndReadingResumesOnTheNextLine) {
    auto records = read_all("a,b\nx\"y,z\n\"ok\"junk,1\nfine,2\n");
    ASSERT_EQ(records.size(), 4U);
    EXPECT_EQ(records[1].status, CsvReader::Status::Malformed);
    EXPECT_EQ(records[1].error, "quote inside an unquoted field");
    EXPECT_EQ(records[2].status, CsvReader::Status::Malformed);
    EXPECT_EQ(records[2].error, "unexpected character after a closing quote");
    EXPECT_EQ(records[3].fields, (Fields{"fine", "2"}));
    EXPECT_EQ(records[3].line, 4);
}

TEST(Csv, UnterminatedQuoteDoesNotSwallowTheFile) {
    auto records = read_all("a,b\n\"open,1\nnext,2\n");
    ASSERT_EQ(records.size(), 3U);
    EXPECT_EQ(records[1].status, CsvReader::Status::Malformed);
    EXPECT_EQ(records[1].error, "unterminated quoted field");
    EXPECT_EQ(records[2].fields, (Fields{"next", "2"}));
    EXPECT_EQ(records[2].line, 3);
}

TEST(Csv, OversizedRecordIsMalformed) {
    std::string text = "\"" + std::string(100, 'x') + "\"\nshort,1\n";
    auto records = read_all(text, 50);
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].status, CsvReader::Status::Malformed);
    EXPECT_EQ(records[1].fields, (Fields{"short", "1"}));
}

}  // namespace
}  // namespace motorpool::vehicles
