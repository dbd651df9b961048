#include "libs/crypto/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <system_error>

namespace claims::crypto {
namespace {

// A directory of this process's own under the test temporary directory, so that runs by
// different users or in parallel never share files; removed when the test binary exits.
class ScratchDir {
 public:
  ScratchDir() : path_(::testing::TempDir() + "keys_test_XXXXXX") {
    if (::mkdtemp(path_.data()) == nullptr) std::abort();
    path_ += '/';
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::string& Dir() {
  static const ScratchDir dir;
  return dir.path();
}

// A fresh path in Dir() holding `content`.
std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = Dir() + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string Raw() {
  std::string raw;
  for (int i = 0; i < 32; ++i) raw += static_cast<char>(i);
  return raw;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct GoodFileCase {
  const char* name;
  std::string content;
  friend void PrintTo(const GoodFileCase& c, std::ostream* os) { *os << c.name; }
};

class MasterKeyGoodFileTest : public ::testing::TestWithParam<GoodFileCase> {};

TEST_P(MasterKeyGoodFileTest, LoadsTheSameKey) {
  const GoodFileCase& c = GetParam();
  Result<MasterKey> key = MasterKey::FromFile(WriteFile(c.name, c.content));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->material().SameAs(MasterKey::FromBytes(Raw())->material()));
}

INSTANTIATE_TEST_SUITE_P(Formats, MasterKeyGoodFileTest,
                         ::testing::Values(GoodFileCase{"Raw32Bytes", Raw()},
                                           GoodFileCase{"LowerHex", kHex},
                                           GoodFileCase{"UpperHex", Upper(kHex)},
                                           GoodFileCase{"HexWithNewline", kHex + "\n"},
                                           GoodFileCase{"HexWithCrLf", kHex + "\r\n"}),
                         [](const ::testing::TestParamInfo<GoodFileCase>& info) {
                           return std::string(info.param.name);
                         });

struct BadFileCase {
  const char* name;
  std::string content;
  std::string message_after_path;  // the message is "key file <path>" + this
  friend void PrintTo(const BadFileCase& c, std::ostream* os) { *os << c.name; }
};

class MasterKeyBadFileTest : public ::testing::TestWithParam<BadFileCase> {};

TEST_P(MasterKeyBadFileTest, NamesTheProblemWithoutTheContent) {
  const BadFileCase& c = GetParam();
  const std::string path = WriteFile(c.name, c.content);
  Result<MasterKey> key = MasterKey::FromFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(key.status().message(), "key file " + path + c.message_after_path);
  EXPECT_EQ(key.status().message().find("0a0b0c"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MasterKeyBadFileTest,
    ::testing::Values(
        BadFileCase{"Empty", "", " must hold 32 raw bytes or 64 hex digits; it holds 0 bytes"},
        BadFileCase{"Raw31Bytes", Raw().substr(1),
                    " must hold 32 raw bytes or 64 hex digits; it holds 31 bytes"},
        BadFileCase{"Raw33Bytes", Raw() + "x",
                    " must hold 32 raw bytes or 64 hex digits; it holds 33 bytes"},
        BadFileCase{"Hex63", kHex.substr(1),
                    " must hold 32 raw bytes or 64 hex digits; it holds 63 bytes"},
        BadFileCase{"Hex66", kHex + "00",
                    " must hold 32 raw bytes or 64 hex digits; it holds 66 bytes"},
        BadFileCase{"LeadingSpace", " " + kHex,
                    " must hold 32 raw bytes or 64 hex digits; it holds 65 bytes"},
        BadFileCase{"Huge", std::string(5000, 'a'),
                    " must hold 32 raw bytes or 64 hex digits; it holds more than 1024 bytes"},
        BadFileCase{"NonHexAt10", kHex.substr(0, 9) + "g" + kHex.substr(10),
                    " holds 64 characters, so it must be hex, but character 10 is not a hex "
                    "digit"},
        BadFileCase{"NonHexAt1", "z" + kHex.substr(1),
                    " holds 64 characters, so it must be hex, but character 1 is not a hex "
                    "digit"}),
    [](const ::testing::TestParamInfo<BadFileCase>& info) { return std::string(info.param.name); });

TEST(MasterKeyTest, MissingFileIsNotFound) {
  const std::string path = Dir() + "does_not_exist";
  std::remove(path.c_str());
  Result<MasterKey> key = MasterKey::FromFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(key.status().message(), "key file " + path + " does not exist");
}

TEST(MasterKeyTest, DirectoryIsUnreadable) {
  const std::string path = Dir() + "dir";
  ::mkdir(path.c_str(), 0700);
  Result<MasterKey> key = MasterKey::FromFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().message(), "cannot read key file " + path + ": Is a directory");
}

TEST(MasterKeyTest, FileWithoutReadPermissionIsUnreadable) {
  const std::string path = WriteFile("no_permission", kHex);
  ::chmod(path.c_str(), 0);
  if (std::ifstream(path).good()) GTEST_SKIP() << "running with permission to read anything";
  Result<MasterKey> key = MasterKey::FromFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().message(), "cannot read key file " + path + ": Permission denied");
}

TEST(PseudonymKeyTest, LoadsFromTheSameFileFormats) {
  Result<PseudonymKey> key = PseudonymKey::FromFile(WriteFile("pseudonym", kHex + "\n"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->material().SameAs(PseudonymKey::FromBytes(Raw())->material()));
}

TEST(KeyMaterialTest, RefusesRawKeysOfTheWrongLength) {
  for (size_t n : {0, 16, 31, 33, 64}) {
    Result<KeyMaterial> key = KeyMaterial::FromBytes(std::string(n, 'k'));
    ASSERT_FALSE(key.ok()) << n;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(key.status().message(), "a key must be exactly 32 bytes, got " + std::to_string(n));
  }
}

TEST(KeyMaterialTest, CopiesAndAssignmentsCarryTheSameKey) {
  const KeyMaterial a = *KeyMaterial::FromBytes(std::string(32, 'a'));
  KeyMaterial b = *KeyMaterial::FromBytes(std::string(32, 'b'));
  EXPECT_FALSE(a.SameAs(b));
  b = a;
  EXPECT_TRUE(b.SameAs(a));
  const KeyMaterial c(b);
  EXPECT_TRUE(c.SameAs(a));
}

TEST(DataKeyTest, GeneratesDistinctKeysUnderTheGivenId) {
  Result<DataKey> a = GenerateDataKey("m1");
  Result<DataKey> b = GenerateDataKey("m1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->key_id(), "m1");
  EXPECT_FALSE(a->material().SameAs(b->material()));
}

TEST(DataKeyTest, RefusesAnEmptyKeyId) {
  EXPECT_EQ(GenerateDataKey("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DataKey::FromBytes("", std::string(32, 'k')).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace claims::crypto
