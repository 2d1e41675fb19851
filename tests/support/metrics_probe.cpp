// Prints nobias's metrics of predictions against targets, both .npy files, as one JSON
// object, for tests/metrics_sklearn_test.py to compare with scikit-learn. The targets may be
// a float array (regression; accuracy of one-hot targets with --one-hot) or integer labels.
//   nobias-metrics-probe P.npy Y.npy [--one-hot]
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "nobias/metrics.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: nobias-metrics-probe P.npy Y.npy [--one-hot]\n");
    return 2;
  }
  try {
    const nobias::Matrix<double> p = nobias::read_npy_matrix_or_vector<double>(argv[1]);
    const nobias::NpyInfo y_info = nobias::inspect_npy(argv[2]);
    std::string json;
    if (y_info.is_integer()) {
      const double accuracy = nobias::accuracy<double>(p, nobias::read_npy_labels(argv[2]));
      json = "{\"accuracy\": " + nobias::format_number(accuracy) + "}";
    } else {
      const bool one_hot = argc > 3 && std::strcmp(argv[3], "--one-hot") == 0;
      const nobias::Matrix<double> y = nobias::read_npy_matrix_or_vector<double>(argv[2]);
      const nobias::Metrics m = nobias::evaluate<double>(p, y, one_hot);
      json = "{\"rows\": " + std::to_string(m.rows) + ", \"mse\": " + nobias::format_number(m.mse) +
             ", \"mae\": " + nobias::format_number(m.mae) +
             ", \"r2\": " + nobias::format_number(m.r2);
      if (m.accuracy) json += ", \"accuracy\": " + nobias::format_number(*m.accuracy);
      json += "}";
    }
    std::printf("%s\n", json.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nobias-metrics-probe: %s\n", e.what());
    return 2;
  }
  return 0;
}
