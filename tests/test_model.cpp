// Model directories (model.hpp): save, load, metadata checked against the files, predict.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/model.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"
#include "reference/reference.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nobias::IoError;
using nobias::Matrix;
using nobias::ModelInfo;
using nobias::Network;
using test_support::TempDir;

using test_support::error_message;
using test_support::read_bytes;
using test_support::same_bits;
using test_support::write_bytes;

namespace {

// A regression with an offset (y = 5 + 2 x0 - x1), trained a little with standardization.
template <class T>
struct Trained {
  Network<T> net{std::vector<std::size_t>{3, 9, 2}, 7, nobias::Init::He};
  ModelInfo info;
  Matrix<T> x = test_support::random_matrix<T>(37, 3, 11);
};

template <class T>
Trained<T> trained_regression() {
  Trained<T> t;
  Matrix<T> y(37, 2);
  for (std::size_t i = 0; i < 37; ++i) {
    y(i, 0) = static_cast<T>(5.0 + 2.0 * static_cast<double>(t.x(i, 0)) - t.x(i, 1));
    y(i, 1) = static_cast<T>(-3.0 + static_cast<double>(t.x(i, 2)));
  }
  t.info.standardization = nobias::fit_standardization<T>(t.x.view(), y.view());
  Matrix<T> xs = t.x, ys = y;
  nobias::standardize_x<T>(t.info.standardization, xs.view());
  nobias::standardize_y<T>(t.info.standardization, ys.view());
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  nobias::Optimizer<T> optimizer(config, t.net);
  nobias::FitOptions options;
  options.epochs = 3;
  options.batch_size = 8;
  options.reduction = nobias::Reduction::Mean;
  nobias::fit<T>(t.net, optimizer, {xs, ys}, options);
  t.info.settings = {{"optimizer", "adam"}, {"epochs", "3"}};
  return t;
}

}  // namespace

TEST_CASE_TEMPLATE("model.save_load.predict_is_bit_for_bit", T, float, double) {
  TempDir dir("model");
  const Trained<T> t = trained_regression<T>();
  const std::string d = dir.file("out/model");
  nobias::save_model(d, t.net, t.info);
  CHECK(TempDir::names_of(d) ==
        std::vector<std::string>{"model.json", "nobias-manifest.txt", "w1.npy", "w2.npy",
                                 "x_mean.npy", "x_scale.npy", "y_mean.npy", "y_scale.npy"});
  const nobias::Model<T> model = nobias::load_model<T>(d);
  CHECK(model.info.has_metadata);
  CHECK(model.info.widths == std::vector<std::size_t>{3, 9, 2});
  CHECK(model.info.dtype == nobias::dtype_of<T>());
  CHECK(model.info.classes == 0);
  CHECK(model.info.nobias_version == nobias::nobias_version());
  CHECK(model.info.settings == t.info.settings);
  CHECK(model.info.standardization.x_mean == t.info.standardization.x_mean);
  CHECK(model.info.standardization.y_scale == t.info.standardization.y_scale);
  const Matrix<T> before = nobias::predict_with<T>(t.net, t.info.standardization, t.x.view());
  CHECK(same_bits(model.predict(t.x.view()), before));
  // And predict is what its definition says: standardize, the network, undo.
  Matrix<T> xs = t.x;
  nobias::standardize_x<T>(t.info.standardization, xs.view());
  Matrix<T> p = t.net.predict(xs.view());
  nobias::unstandardize_y<T>(t.info.standardization, p.view());
  CHECK(same_bits(p, before));
}

TEST_CASE_TEMPLATE("model.load.bare_numpy_weights_are_a_plain_regression", T, float, double) {
  TempDir dir("bare");
  const Network<double> net(std::vector<std::size_t>{4, 6, 3}, 5);
  nobias::write_npy(dir.file("w1.npy"), net.weights()[0]);  // as numpy would: no manifest
  nobias::write_npy(dir.file("w2.npy"), net.weights()[1]);
  const nobias::Model<T> model = nobias::load_model<T>(dir.path().string());
  CHECK_FALSE(model.info.has_metadata);
  CHECK(model.info.classes == 0);
  CHECK(model.info.dtype == nobias::Dtype::F64);
  CHECK(model.info.standardization.empty());
  CHECK(model.info.widths == std::vector<std::size_t>{4, 6, 3});
  const nobias::ModelInfo info = nobias::read_model_info(dir.path().string());
  CHECK(info.widths == std::vector<std::size_t>{4, 6, 3});
  CHECK_FALSE(info.has_metadata);
}

TEST_CASE("model.save_load.classifier") {
  TempDir dir("classifier");
  const Network<float> net(std::vector<std::size_t>{5, 8, 4}, 3, nobias::Init::He);
  ModelInfo info;
  info.classes = 4;
  const Matrix<float> x = test_support::random_matrix<float>(9, 5, 2);
  info.standardization = nobias::fit_standardization<float>(x.view());
  nobias::save_model(dir.path().string(), net, info);
  const auto model = nobias::load_model<float>(dir.path().string());
  CHECK(model.info.classes == 4);
  CHECK_FALSE(model.info.standardization.has_y());
  CHECK(same_bits(model.predict(x.view()),
                  nobias::predict_with<float>(net, info.standardization, x.view())));
  const ModelInfo read = nobias::read_model_info(dir.path().string());
  CHECK(read.classes == 4);
  CHECK(read.standardization.x_scale == info.standardization.x_scale);
}

TEST_CASE("model.save_load.class_names") {
  TempDir dir("class-names");
  const std::string d = dir.path().string();
  const Network<float> net(std::vector<std::size_t>{5, 8, 3}, 3, nobias::Init::He);
  ModelInfo info;
  info.classes = 3;
  nobias::save_model(d, net, info);
  // Unnamed classes (and every model.json written before names were kept): no field, no names.
  const std::string unnamed = read_bytes(dir.file("model.json"));
  CHECK(unnamed.find("class_names") == std::string::npos);
  CHECK(nobias::load_model<float>(d).info.class_names.empty());
  info.class_names = {"setosa", "versicolor", "virginica"};
  nobias::save_model(d, net, info);
  CHECK(nobias::load_model<float>(d).info.class_names == info.class_names);
  CHECK(nobias::read_model_info(d).class_names == info.class_names);
  const std::string named = read_bytes(dir.file("model.json"));

  const auto refused_save = [&](std::vector<std::string> names, const std::string& message) {
    info.class_names = std::move(names);
    CHECK_ERROR(nobias::ValueError, nobias::save_model(dir.file("m"), net, info), message);
  };
  const std::string expected =
      " (expected 3 unique names, each non-empty text without control characters)";
  refused_save({"a", "b"}, "save_model: class_names has 2 names for 3 classes" + expected);
  refused_save({"a", "b", "a"}, "save_model: class_names has 'a' twice" + expected);
  refused_save({"a", "b\n", "c"}, "save_model: class_names has 'b\\x0a' for class 1" + expected);
  refused_save({"a", "", "c"}, "save_model: class_names has '' for class 1" + expected);
  CHECK_FALSE(fs::exists(dir.file("m")));

  // Edited by hand: each bad list named, with the file.
  fs::remove(dir.file("nobias-manifest.txt"));
  const auto edited = [&](const std::string& to) {
    std::string text = named;
    const std::size_t from = text.find("\"class_names\"");
    REQUIRE(from != std::string::npos);
    text.replace(from, text.find(']', from) + 1 - from, "\"class_names\": " + to);
    write_bytes(dir.file("model.json"), text);
  };
  edited("[\"a\", \"b\"]");
  CHECK_ERROR(
      IoError, nobias::load_model<float>(d),
      "load_model: " + d + ": model.json: \"class_names\" has 2 names for 3 classes" + expected);
  edited("[\"a\", \"b\", \"a\"]");
  CHECK_ERROR(IoError, nobias::read_model_info(d),
              "read_model_info: " + d + ": model.json: \"class_names\" has 'a' twice" + expected);
  edited("[\"a\", 2, \"c\"]");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json: \"class_names\" must be a list of strings, found [\"a\",2,\"c\"]");
  edited("\"abc\"");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json: \"class_names\" must be a list of strings, found \"abc\"");
  write_bytes(dir.file("model.json"), unnamed);
  CHECK(nobias::load_model<float>(d).info.class_names.empty());
}

TEST_CASE("model.save.refuses_info_that_does_not_fit_the_network") {
  TempDir dir("bad-info");
  const Network<float> net(std::vector<std::size_t>{5, 8, 4}, 3);
  ModelInfo info;
  info.classes = 3;
  CHECK_ERROR(nobias::ValueError, nobias::save_model(dir.file("m"), net, info),
              "save_model: classes is 3 but the network has 4 outputs (0 for a regression)");
  info.classes = 0;
  info.standardization.x_mean = {0, 0, 0};
  info.standardization.x_scale = {1, 1, 1};
  CHECK_ERROR(nobias::ValueError, nobias::save_model(dir.file("m"), net, info),
              "save_model: x_mean has 3 values, expected 5 (one per column of x)");
  info.standardization.x_mean = {0, 0, 0, 0, 0};
  info.standardization.x_scale = {1, 1, 0, 1, 1};
  CHECK_ERROR(nobias::ValueError, nobias::save_model(dir.file("m"), net, info),
              "save_model: x_scale element 2 is 0; it must be finite and > 0");
  info.standardization.x_scale = {1, 1, 1, 1, 1};
  info.standardization.y_mean = {0, 0, 0, 0};
  info.standardization.y_scale = {1, 1, 1, 1};
  info.classes = 4;
  CHECK_ERROR(nobias::ValueError, nobias::save_model(dir.file("m"), net, info),
              "save_model: a classifier's targets are one-hot, never standardized");
  CHECK(dir.names().empty());
}

TEST_CASE("model.load.names_a_stray_weight_file") {
  // edges2 item 3: a w4.npy left beside a 3-layer model without its manifest was read as a
  // fourth layer: "model.json says widths 5,8,6,4 but the weights are 5,8,6,4,4", or "w4.npy is
  // 7x7 but w3.npy is 6x4".
  TempDir dir("stray");
  const std::string d = dir.path().string();
  const Network<float> net(std::vector<std::size_t>{5, 8, 6, 4}, 3);
  nobias::save_model(d, net, ModelInfo{});
  const std::string expected = "model.json says 3 layers (widths 5,8,6,4), in w1.npy..w3.npy";
  // With the manifest the set is what it lists: the stray file is not the save's.
  nobias::write_npy(dir.file("w4.npy"), Matrix<float>(4, 4));
  CHECK(nobias::load_model<float>(d).network.layers() == 3);
  CHECK(nobias::read_model_info(d).widths == std::vector<std::size_t>{5, 8, 6, 4});
  fs::remove(dir.file("nobias-manifest.txt"));
  const std::string stray = expected +
                            ", but w4.npy is here too, and there is no nobias-manifest.txt to say "
                            "which files are the save's: a file left over from another model? "
                            "Delete it, or keep each model in a directory of its own";
  CHECK_ERROR(IoError, nobias::load_model<float>(d), "load_model: " + d + ": " + stray);
  CHECK_ERROR(IoError, nobias::read_model_info(d), "read_model_info: " + d + ": " + stray);
  nobias::write_npy(dir.file("w4.npy"), Matrix<float>(7, 7));  // not even a fourth layer
  CHECK_ERROR(IoError, nobias::load_model<float>(d), stray);
  CHECK_ERROR(IoError, nobias::read_model_info(d), stray);
  nobias::write_npy(dir.file("w10.npy"), Matrix<float>(7, 7));
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              expected +
                  ", but w4.npy, w10.npy are here too, and there is no "
                  "nobias-manifest.txt to say which files are the save's: files left over "
                  "from another model? Delete them");
  fs::remove(dir.file("w4.npy"));
  fs::remove(dir.file("w10.npy"));
  CHECK(nobias::load_model<float>(d).network.layers() == 3);
  // A layer model.json names, missing: named as that, not as other widths.
  fs::rename(dir.file("w3.npy"), dir.file("w4.npy"));
  CHECK_ERROR(IoError, nobias::read_model_info(d),
              "read_model_info: " + d + ": " + expected + ", but w3.npy is missing");
  CHECK_ERROR(IoError, nobias::load_model<float>(d), expected + ", but w3.npy is missing");
}

TEST_CASE("model.load.metadata_that_does_not_match_the_files") {
  TempDir dir("mismatch");
  const std::string d = dir.path().string();
  const Network<float> net(std::vector<std::size_t>{5, 8, 4}, 3);
  ModelInfo info;
  info.classes = 4;
  nobias::save_model(d, net, info);
  const std::string json = read_bytes(dir.file("model.json"));
  // Edited by hand (and the manifest deleted, as its error message advises): each lie named.
  fs::remove(dir.file("nobias-manifest.txt"));
  const auto edited = [&](const std::string& from, const std::string& to) {
    std::string text = json;
    const std::size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    write_bytes(dir.file("model.json"), text);
  };
  edited("\"classes\": 4", "\"classes\": 3");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "load_model: " + d + ": model.json says 3 classes but the network has 4 outputs");
  edited("\"dtype\": \"f32\"", "\"dtype\": \"f64\"");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json says dtype f64 but w1.npy is float32");
  edited("\"dtype\": \"f32\"", "\"dtype\": \"f16\"");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json: \"dtype\" must be \"f32\" or \"f64\", found \"f16\"");
  edited("    8,", "    9,");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json says widths 5,9,4 but the weights are 5,8,4");
  CHECK_ERROR(IoError, nobias::read_model_info(d),
              "model.json says widths 5,9,4 but the weights are 5,8,4");
  edited("\"format_version\": 1", "\"format_version\": 2");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json has format_version 2; this nobias (");
  edited("\"standardization\": {}", "\"standardization\": {\"x_mean\": \"x_mean.npy\"}");
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json names x_mean.npy, which is missing");
  nobias::write_npy(dir.file("x_mean.npy"), Matrix<double>(1, 5));
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "model.json: x_mean given without x_scale; expected both or neither");
  write_bytes(dir.file("model.json"), json.substr(0, json.size() / 2));
  CHECK_ERROR(IoError, nobias::load_model<float>(d), "model.json is not valid JSON: ");
  write_bytes(dir.file("model.json"), "[1, 2]");
  CHECK_ERROR(IoError, nobias::load_model<float>(d), "model.json has no \"format\"");
  write_bytes(dir.file("model.json"), json);
  fs::remove(dir.file("x_mean.npy"));
  CHECK(nobias::load_model<float>(d).info.classes == 4);
}

TEST_CASE("model.load.refuses_mixed_set") {
  // model.json of one save beside the weights of another (both complete saves on their own).
  TempDir a("mixed-model-a"), b("mixed-model-b");
  const Network<float> net(std::vector<std::size_t>{5, 8, 4}, 3);
  ModelInfo info;
  nobias::save_model(a.path().string(), net, info);
  info.settings["epochs"] = "10";
  nobias::save_model(b.path().string(), net, info);
  fs::copy_file(b.file("model.json"), a.file("model.json"), fs::copy_options::overwrite_existing);
  CHECK_ERROR(IoError, nobias::load_model<float>(a.path().string()),
              "model.json does not match nobias-manifest.txt");
  CHECK_ERROR(IoError, nobias::read_model_info(a.path().string()),
              "model.json does not match nobias-manifest.txt");
  // A statistics file (or a deeper layer) that the last save did not write is not part of it:
  // the manifest says what the model is.
  nobias::save_model(b.path().string(), net, ModelInfo{});
  nobias::write_npy(b.file("x_mean.npy"), Matrix<double>(1, 5));
  nobias::write_npy(b.file("w3.npy"), Matrix<float>(4, 2));
  const nobias::Model<float> m = nobias::load_model<float>(b.path().string());
  CHECK_FALSE(m.info.standardization.has_x());
  CHECK(m.network.widths() == std::vector<std::size_t>{5, 8, 4});
  CHECK(nobias::read_model_info(b.path().string()).widths == std::vector<std::size_t>{5, 8, 4});
}

// A named pipe called model.json, x_mean.npy or w2.npy was opened to be read, and the open waited
// for a writer forever. Now each file of the set is opened without waiting (O_NONBLOCK) and
// refused unless it is a regular file; a directory in a file's place the same.
TEST_CASE("model.load.a_file_that_is_not_regular_is_refused_at_once") {
  TempDir dir("fifo-model");
  const std::string d = dir.path().string();
  const Trained<float> t = trained_regression<float>();
  for (const std::string name : {"model.json", "x_mean.npy", "w2.npy"}) {
    for (const bool manifest : {true, false}) {
      CAPTURE(name);
      CAPTURE(manifest);
      nobias::save_model(d, t.net, t.info);
      if (!manifest) fs::remove(dir.file("nobias-manifest.txt"));
      fs::remove(dir.file(name));
      REQUIRE(::mkfifo(dir.file(name).c_str(), 0644) == 0);
      const std::string expected =
          d + "/" + name + ": is a FIFO (named pipe), expected a " + "regular file";
      // A weight's header is read by inspect_npy, which says so.
      CHECK_ERROR(IoError, nobias::read_model_info(d),
                  (name == "w2.npy" ? "inspect_npy: " : "read_model_info: ") + expected);
      CHECK_ERROR(IoError, nobias::load_model<float>(d), "load_model: " + expected);
      fs::remove(dir.file(name));
      fs::create_directory(dir.file(name));
      CHECK_ERROR(IoError, nobias::load_model<float>(d),
                  "load_model: " + d + "/" + name + ": is a directory, expected a regular file");
      fs::remove(dir.file(name));
    }
  }
}

TEST_CASE("model.load.non_finite_weight_is_corruption") {
  TempDir dir("nan-model");
  Matrix<float> w1(3, 2), w2(2, 1);
  w2(1, 0) = std::numeric_limits<float>::quiet_NaN();
  nobias::write_npy(dir.file("w1.npy"), w1);
  nobias::write_npy(dir.file("w2.npy"), w2);
  CHECK_ERROR(IoError, nobias::load_model<float>(dir.path().string()),
              "load_model: " + dir.path().string() + ": Network: w2: element (1, 0) is nan");
}

TEST_CASE("model.load.every_weight_file_has_the_declared_dtype_and_chains") {
  // Issue 19 item 11: only w1.npy's dtype was compared with model.json's, so a float64 w3.npy
  // under "dtype": "f32" loaded (rounded to float) as if it were the model.
  TempDir dir("dtype-every-file");
  const std::string d = dir.path().string();
  const Network<float> net(std::vector<std::size_t>{5, 8, 6, 4}, 3);
  nobias::save_model(d, net, ModelInfo{});
  fs::remove(dir.file("nobias-manifest.txt"));  // an older or hand-made directory
  nobias::write_npy(dir.file("w3.npy"), Matrix<double>(6, 4));
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "load_model: " + d + ": model.json says dtype f32 but w3.npy is float64");
  CHECK_ERROR(IoError, nobias::load_model<double>(d),
              "load_model: " + d + ": model.json says dtype f32 but w3.npy is float64");
  CHECK_ERROR(IoError, nobias::read_model_info(d),
              "read_model_info: " + d + ": model.json says dtype f32 but w3.npy is float64");
  // A layer that does not chain is named with both shapes, by either reader.
  nobias::write_npy(dir.file("w3.npy"), Matrix<float>(7, 4));
  CHECK_ERROR(IoError, nobias::read_model_info(d),
              "read_model_info: " + d +
                  ": w3.npy is 7x4 but w2.npy is 8x6: rows must equal the previous layer's "
                  "columns");
  CHECK_ERROR(nobias::ShapeError, nobias::load_model<float>(d), "w3.npy is 7x4 but ");
  nobias::write_npy(dir.file("w3.npy"), Matrix<float>(6, 4));
  CHECK(nobias::load_model<float>(d).info.dtype == nobias::Dtype::F32);
  // Bare weights of mixed dtypes: no file's precision is lost to the dtype a tool computes in.
  fs::remove(dir.file("model.json"));
  nobias::write_npy(dir.file("w2.npy"), Matrix<double>(8, 6));
  CHECK(nobias::read_model_info(d).dtype == nobias::Dtype::F64);
  CHECK(nobias::load_model<double>(d).info.dtype == nobias::Dtype::F64);
}

TEST_CASE("model.load.refuses_statistics_that_model_json_does_not_name") {
  // Issue 19 item 11: a statistics file that model.json does not name was ignored, so a
  // directory claiming two things at once loaded as one of them without a word.
  TempDir dir("stray-statistics");
  const std::string d = dir.path().string();
  const Network<float> net(std::vector<std::size_t>{5, 8, 4}, 3);
  nobias::save_model(d, net, ModelInfo{});
  fs::remove(dir.file("nobias-manifest.txt"));
  nobias::write_npy(dir.file("x_mean.npy"), Matrix<double>(1, 5));
  const std::string unnamed =
      ": x_mean.npy is here but model.json's \"standardization\" names none (the model was "
      "trained unstandardized); delete it, or name it in model.json";
  CHECK_ERROR(IoError, nobias::load_model<float>(d), "load_model: " + d + unnamed);
  CHECK_ERROR(IoError, nobias::read_model_info(d), "read_model_info: " + d + unnamed);

  // Some of the four named, another beside them.
  ModelInfo info;
  info.classes = 4;
  info.standardization =
      nobias::fit_standardization<float>(test_support::random_matrix<float>(9, 5, 2).view());
  nobias::save_model(d, net, info);
  fs::remove(dir.file("nobias-manifest.txt"));
  nobias::write_npy(dir.file("y_scale.npy"), Matrix<double>(1, 4));
  CHECK_ERROR(IoError, nobias::load_model<float>(d),
              "load_model: " + d +
                  ": y_scale.npy is here but model.json's \"standardization\" names x_mean.npy, "
                  "x_scale.npy; delete it, or name it in model.json");
  fs::remove(dir.file("y_scale.npy"));
  CHECK(nobias::load_model<float>(d).info.standardization.x_scale == info.standardization.x_scale);

  // Bare weights have no standardization to go with the files.
  fs::remove(dir.file("model.json"));
  const std::string bare =
      ": x_mean.npy, x_scale.npy are here but there is no model.json to say how the weights use "
      "them";
  CHECK_ERROR(IoError, nobias::load_model<float>(d), "load_model: " + d + bare);
  CHECK_ERROR(IoError, nobias::read_model_info(d), "read_model_info: " + d + bare);
  fs::remove(dir.file("x_mean.npy"));
  fs::remove(dir.file("x_scale.npy"));
  CHECK(nobias::load_model<float>(d).info.standardization.empty());
}
