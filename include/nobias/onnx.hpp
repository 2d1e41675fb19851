// A network as an ONNX model (https://onnx.ai): a file that ONNX runtimes (onnxruntime, in
// C++, Python, JavaScript, the browser) run without nobias.
//
// The graph, for widths d_0, ..., d_K and T = float (ONNX FLOAT) or double (DOUBLE):
//
//   x: T [N, d_0]                                   N is symbolic: any batch size
//   Sub(x, x_mean) -> Div(., x_scale)               only with x statistics
//   MatMul(., w1) -> Relu -> ... -> MatMul(., wK)   w_k: initializers of shape (d_{k-1}, d_k)
//   Mul(., y_scale) -> Add(., y_mean)               only with y statistics
//   y: T [N, d_K]                                   the scores of a classifier
//
// the same arithmetic as Model<T>::predict (model.hpp), except that the statistics are
// rounded to T and applied in T (nobias applies them in double): float32 predictions agree
// to about 1e-6 relative, float64 ones to rounding. Opset 13 of the default domain, IR
// version 7: what ONNX's checker accepts since 1.8 (tested with Debian's 1.12) and
// onnxruntime runs (tested with onnxruntime-node 1.31). The
// model's metadata_props carry nobias_version, dtype, widths ("7,13,3"), classes (0 for a
// regression), class_names (a JSON list, when the model has names) and standardization
// ("none", "x", "y" or "x,y"); producer_name is "nobias".
#pragma once

#include <cstdint>
#include <string>

#include "nobias/model.hpp"
#include "nobias/network.hpp"

namespace nobias {

inline constexpr std::int64_t kOnnxOpset = 13;
inline constexpr std::int64_t kOnnxIrVersion = 7;

// The ONNX ModelProto of net with info's standardization, classes and class names, as bytes
// (protobuf's wire format). info.widths, dtype and versions are ignored, as in save_model.
// ValueError if info does not fit net, as save_model refuses it: statistics of the wrong
// length, not finite, a scale <= 0; classes neither 0 nor d_K; class_names not classes unique
// printable names.
template <class T>
std::string onnx_model(const Network<T>& net, const ModelInfo& info = {});

// Writes onnx_model(net, info) to path atomically (staged.hpp): path is replaced, or on any
// failure left as it was. ValueError as onnx_model, before anything is written; IoError
// "export_onnx: <path>: ..." with the system's reason on a failed write.
template <class T>
void export_onnx(const std::string& path, const Network<T>& net, const ModelInfo& info = {});

// A model directory (load_model, in the dtype its weights are stored in) written as above.
void export_onnx(const std::string& path, const std::string& model_dir);

}  // namespace nobias
