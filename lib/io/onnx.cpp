// ONNX export (nobias/onnx.hpp): the ModelProto written field by field in protobuf's wire
// format. Field numbers are onnx.proto's (ONNX 1.12's onnx/onnx.proto); the names below are
// its field names.
#include "nobias/onnx.hpp"

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/protobuf_wire.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"
#include "nobias/targets.hpp"

namespace nobias {
namespace {

// The raw_data of a tensor is its elements' little-endian bytes, as this host stores them.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ONNX raw_data is little-endian");

using wire::Message;

// TensorProto.DataType
template <class T>
constexpr std::uint64_t kElementType = 1;  // FLOAT
template <>
constexpr std::uint64_t kElementType<double> = 11;  // DOUBLE

// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9. values in row-major order.
template <class T>
Message tensor(const std::string& name, const std::vector<std::size_t>& dims, const T* values,
               std::size_t count) {
  Message t;
  for (const std::size_t d : dims)
    t.varint(1, d);
  t.varint(2, kElementType<T>);
  t.bytes(8, name);
  t.bytes(9, std::string(reinterpret_cast<const char*>(values), count * sizeof(T)));
  return t;
}

// A statistic as a 1-D tensor of T, broadcast over the rows: rounded to T once. The runtime
// applies it in T, where nobias applies it in double: a value T cannot hold (a mean past
// float's range, a scale that rounds to zero) would make every output inf or NaN there.
template <class T>
Message statistic_tensor(const std::string& name, const std::vector<double>& values) {
  const std::vector<T> rounded(values.begin(), values.end());
  const bool is_scale = name.size() > 6 && name.compare(name.size() - 6, 6, "_scale") == 0;
  for (std::size_t j = 0; j < rounded.size(); ++j) {
    if (!std::isfinite(rounded[j]) || (is_scale && rounded[j] == T(0))) {
      throw ValueError("export_onnx: " + name + "[" + std::to_string(j) + "] is " +
                       format_number(values[j]) + ", which " + to_name(dtype_of<T>()) +
                       " (the model's dtype, in which ONNX applies it) cannot hold" +
                       (is_scale ? " as a nonzero finite scale" : " as a finite number") +
                       "; train a float64 model, or rescale that column");
    }
  }
  return tensor<T>(name, {values.size()}, rounded.data(), rounded.size());
}

// ValueInfoProto (name = 1, type = 2) of a T tensor [N, width]: TypeProto.tensor_type = 1,
// Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1, Dimension.dim_value = 1,
// dim_param = 2.
template <class T>
Message matrix_value(const std::string& name, std::size_t width) {
  Message shape;
  shape.message(1, Message().bytes(2, "N"));
  shape.message(1, Message().varint(1, width));
  Message tensor_type;
  tensor_type.varint(1, kElementType<T>).message(2, shape);
  return Message().bytes(1, name).message(2, Message().message(1, tensor_type));
}

// NodeProto: input = 1, output = 2, name = 3, op_type = 4.
Message node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
             const std::string& out) {
  Message n;
  for (const std::string& i : in)
    n.bytes(1, i);
  return n.bytes(2, out).bytes(3, name).bytes(4, op);
}

// StringStringEntryProto: key = 1, value = 2.
Message entry(const std::string& key, const std::string& value) {
  return Message().bytes(1, key).bytes(2, value);
}

std::string widths_text(const std::vector<std::size_t>& widths) {
  std::string text;
  for (std::size_t k = 0; k < widths.size(); ++k)
    text += (k > 0 ? "," : "") + std::to_string(widths[k]);
  return text;
}

// GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
template <class T>
Message graph(const Network<T>& net, const Standardization& s) {
  Message g;
  std::vector<Message> initializers;
  std::string value = "x";
  if (s.has_x()) {
    g.message(1, node("Sub", "standardize_x_sub", {value, "x_mean"}, "x_centered"));
    g.message(1, node("Div", "standardize_x_div", {"x_centered", "x_scale"}, "x_standardized"));
    initializers.push_back(statistic_tensor<T>("x_mean", s.x_mean));
    initializers.push_back(statistic_tensor<T>("x_scale", s.x_scale));
    value = "x_standardized";
  }
  const std::size_t layers = net.layers();
  for (std::size_t k = 1; k <= layers; ++k) {
    const Matrix<T>& w = net.weights()[k - 1];
    const std::string name = "w" + std::to_string(k), layer = "layer" + std::to_string(k);
    const std::string product = k < layers  ? "h" + std::to_string(k)
                                : s.has_y() ? "y_standardized"
                                            : "y";
    g.message(1, node("MatMul", layer + "_matmul", {value, name}, product));
    initializers.push_back(tensor<T>(name, {w.rows(), w.cols()}, w.data(), w.rows() * w.cols()));
    value = product;
    if (k < layers) {
      value = "a" + std::to_string(k);
      g.message(1, node("Relu", layer + "_relu", {product}, value));
    }
  }
  if (s.has_y()) {
    g.message(1, node("Mul", "unstandardize_y_mul", {value, "y_scale"}, "y_scaled"));
    g.message(1, node("Add", "unstandardize_y_add", {"y_scaled", "y_mean"}, "y"));
    initializers.push_back(statistic_tensor<T>("y_scale", s.y_scale));
    initializers.push_back(statistic_tensor<T>("y_mean", s.y_mean));
  }
  g.bytes(2, "nobias");
  for (const Message& i : initializers)
    g.message(5, i);
  g.message(11, matrix_value<T>("x", net.input_width()));
  g.message(12, matrix_value<T>("y", net.output_width()));
  return g;
}

}  // namespace

// Protobuf parsers, ONNX's and onnxruntime's included, refuse a message over 2 GiB - 1 byte.
constexpr std::uint64_t kProtobufMostBytes = 2147483647;

std::string too_large(std::uint64_t bytes, const char* what) {
  return "export_onnx: the model's " + std::string(what) + " take " + std::to_string(bytes) +
         " bytes, over the 2,147,483,647 a protobuf message (an ONNX file) holds; nobias's model "
         "directory (save_model) has no such limit";
}

template <class T>
std::string onnx_model(const Network<T>& net, const ModelInfo& info) {
  check_model_info(net, info, "export_onnx");
  // Refused before the encoding, which would copy all of it once more.
  std::uint64_t weight_bytes = 0;
  for (const Matrix<T>& w : net.weights())
    weight_bytes += std::uint64_t(w.rows()) * w.cols() * sizeof(T);
  if (weight_bytes > kProtobufMostBytes) throw ValueError(too_large(weight_bytes, "weights"));
  const Standardization& s = info.standardization;
  // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
  // opset_import = 8 (OperatorSetIdProto: domain = 1, "" the default; version = 2),
  // metadata_props = 14.
  Message model;
  model.varint(1, kOnnxIrVersion);
  model.bytes(2, "nobias").bytes(3, nobias_version());
  model.message(7, graph(net, s));
  model.message(8, Message().bytes(1, "").varint(2, kOnnxOpset));
  const std::string standardization = s.has_x() && s.has_y() ? "x,y"
                                      : s.has_x()            ? "x"
                                      : s.has_y()            ? "y"
                                                             : "none";
  model.message(14, entry("nobias_version", nobias_version()));
  model.message(14, entry("dtype", to_name(std::is_same_v<T, float> ? Dtype::F32 : Dtype::F64)));
  model.message(14, entry("widths", widths_text(net.widths())));
  model.message(14, entry("classes", std::to_string(info.classes)));
  if (!info.class_names.empty()) {
    // Names need not be UTF-8 (a CSV's bytes): replaced, as in model.json, never a json error.
    const std::string names = nlohmann::json(info.class_names)
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    model.message(14, entry("class_names", names));
  }
  model.message(14, entry("standardization", standardization));
  std::string bytes = model.encoded();
  if (bytes.size() > kProtobufMostBytes) throw ValueError(too_large(bytes.size(), "tensors"));
  return bytes;
}

template <class T>
void export_onnx(const std::string& path, const Network<T>& net, const ModelInfo& info) {
  const std::string bytes = onnx_model(net, info);
  write_file_atomically(
      path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); },
      "export_onnx");
}

void export_onnx(const std::string& path, const std::string& model_dir) {
  if (read_model_info(model_dir).dtype == Dtype::F64) {
    const Model<double> m = load_model<double>(model_dir);
    export_onnx<double>(path, m.network, m.info);
  } else {
    const Model<float> m = load_model<float>(model_dir);
    export_onnx<float>(path, m.network, m.info);
  }
}

template std::string onnx_model<float>(const Network<float>&, const ModelInfo&);
template std::string onnx_model<double>(const Network<double>&, const ModelInfo&);
template void export_onnx<float>(const std::string&, const Network<float>&, const ModelInfo&);
template void export_onnx<double>(const std::string&, const Network<double>&, const ModelInfo&);

}  // namespace nobias
