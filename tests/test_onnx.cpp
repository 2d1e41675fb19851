// ONNX export (nobias/onnx.hpp): the wire format's encoding, what a model holds, refusals and
// the atomic replacement. ONNX's own checker and onnxruntime run in tests/onnx_test.py.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "io/protobuf_wire.hpp"
#include "nobias/error.hpp"
#include "nobias/onnx.hpp"
#include "test_support.hpp"

namespace {

using nobias::Network;
using test_support::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("onnx.wire.fields_as_protobuf_encodes_them") {
  using nobias::wire::Message;
  // protobuf's documentation: field 1 = 150 is 08 96 01; a string field 2 "testing" is 12 07 ...
  CHECK(Message().varint(1, 150).encoded() == std::string("\x08\x96\x01"));
  CHECK(Message().bytes(2, "testing").encoded() == std::string("\x12\x07testing"));
  CHECK(Message().varint(1, 127).encoded() == std::string("\x08\x7f"));
  CHECK(Message().varint(1, 128).encoded() == std::string("\x08\x80\x01"));
  CHECK(Message().varint(3, 0).encoded() == std::string("\x18\x00", 2));
  CHECK(Message().varint(1, 1ULL << 63).encoded() ==
        std::string("\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"));
  // A field number above 15 takes a two-byte key: 14 << 3 | 2 = 0x72, 20 << 3 | 0 = 0xa0 0x01.
  CHECK(Message().bytes(14, "").encoded() == std::string("\x72\x00", 2));
  CHECK(Message().varint(20, 1).encoded() == std::string("\xa0\x01\x01"));
  const Message inner = Message().varint(1, 150);
  CHECK(Message().message(3, inner).encoded() == std::string("\x1a\x03\x08\x96\x01"));
}

TEST_CASE_TEMPLATE("onnx.model.holds_the_weights_bytes_and_the_versions", T, float, double) {
  const Network<T> net(std::vector<std::size_t>{7, 13, 5, 3}, 11, nobias::Init::He);
  nobias::ModelInfo info;
  info.standardization.x_mean.assign(7, 0.25);
  info.standardization.x_scale.assign(7, 2.0);
  const std::string model = nobias::onnx_model(net, info);
  // ir_version first: field 1, varint 7.
  CHECK(model.substr(0, 2) == std::string("\x08\x07"));
  for (const auto& w : net.weights()) {
    CHECK(contains(model, std::string(reinterpret_cast<const char*>(w.data()),
                                      w.rows() * w.cols() * sizeof(T))));
  }
  const std::vector<T> mean(7, T(0.25));
  CHECK(contains(model, std::string(reinterpret_cast<const char*>(mean.data()), 7 * sizeof(T))));
  for (const char* name : {"Sub", "Div", "MatMul", "Relu", "x_standardized", "nobias"})
    CHECK(contains(model, name));
  CHECK_FALSE(contains(model, "y_mean"));
  CHECK(contains(model, std::is_same_v<T, float> ? "f32" : "f64"));
}

TEST_CASE("onnx.model.class_names_of_any_bytes_are_written_not_thrown") {
  // A CSV's labels need not be UTF-8 (Latin-1 "caf\xe9"); save_model keeps such names, and
  // the export writes them with the byte replaced, never a json exception.
  const Network<float> net(std::vector<std::size_t>{4, 6, 2}, 1);
  nobias::ModelInfo info;
  info.classes = 2;
  info.class_names = {"caf\xe9", "tea"};
  std::string model;
  CHECK_NOTHROW(model = nobias::onnx_model(net, info));
  CHECK(contains(model, "class_names"));
  CHECK(contains(model, "tea"));
}

TEST_CASE("onnx.model.refuses_what_save_model_refuses") {
  const Network<float> net(std::vector<std::size_t>{4, 6, 2}, 1);
  nobias::ModelInfo info;
  info.standardization.x_mean.assign(3, 0.0);
  info.standardization.x_scale.assign(3, 1.0);
  CHECK_THROWS_AS(nobias::onnx_model(net, info), nobias::ValueError);
  info = {};
  info.classes = 3;
  CHECK_THROWS_WITH_AS(nobias::onnx_model(net, info),
                       doctest::Contains("export_onnx: classes is 3 but the network has 2 outputs"),
                       nobias::ValueError);
  info = {};
  info.classes = 2;
  info.class_names = {"a", "a"};
  CHECK_THROWS_AS(nobias::onnx_model(net, info), nobias::ValueError);
  info = {};
  info.classes = 2;
  info.standardization.y_mean = {0.0, 0.0};
  info.standardization.y_scale = {1.0, 1.0};
  CHECK_THROWS_WITH_AS(nobias::onnx_model(net, info), doctest::Contains("one-hot"),
                       nobias::ValueError);
}

TEST_CASE("onnx.export.replaces_atomically_or_leaves_the_previous_file") {
  TempDir dir("onnx");
  const Network<double> net(std::vector<std::size_t>{4, 6, 2}, 1);
  const std::string path = dir.file("m.onnx");
  { std::ofstream(path) << "previous"; }
  nobias::ModelInfo bad;
  bad.standardization.y_mean = {0.0, 0.0};
  bad.standardization.y_scale = {0.0, 1.0};
  CHECK_THROWS_AS(nobias::export_onnx(path, net, bad), nobias::ValueError);
  CHECK(read_file(path) == "previous");
  nobias::export_onnx(path, net);
  CHECK(read_file(path) == nobias::onnx_model(net));
  CHECK(dir.names() == std::vector<std::string>{"m.onnx"});
  CHECK_THROWS_AS(nobias::export_onnx(dir.file("none/m.onnx"), net), nobias::IoError);
  CHECK_THROWS_AS(nobias::export_onnx(dir.file("m2.onnx"), dir.file("no-model")), nobias::IoError);
  CHECK(dir.names() == std::vector<std::string>{"m.onnx"});
}

TEST_CASE("onnx.model.refuses_float32_statistics_the_runtime_would_make_inf") {
  const Network<float> net(std::vector<std::size_t>{3, 4, 2}, 1);
  nobias::ModelInfo info;
  info.standardization.x_mean = {0.0, 1e39, 0.0};  // finite in double, inf in float
  info.standardization.x_scale = {1.0, 1.0, 1.0};
  CHECK_THROWS_WITH_AS(nobias::onnx_model(net, info),
                       doctest::Contains("export_onnx: x_mean[1] is 1e+39"), nobias::ValueError);
  info.standardization.x_mean = {0.0, 0.0, 0.0};
  info.standardization.x_scale = {1.0, 1.0, 1e-50};  // rounds to zero in float
  CHECK_THROWS_WITH_AS(nobias::onnx_model(net, info), doctest::Contains("x_scale[2]"),
                       nobias::ValueError);
  info = {};
  info.standardization.y_mean = {0.0, -1e300};
  info.standardization.y_scale = {1.0, 1.0};
  CHECK_THROWS_WITH_AS(nobias::onnx_model(net, info), doctest::Contains("y_mean[1]"),
                       nobias::ValueError);
  // float64 holds the same statistics: exported.
  const Network<double> wide(std::vector<std::size_t>{3, 4, 2}, 1);
  CHECK_FALSE(nobias::onnx_model(wide, info).empty());
  // A float value at the edge of the range is kept.
  info.standardization.y_mean = {0.0, 3e38};
  CHECK_FALSE(nobias::onnx_model(net, info).empty());
}
