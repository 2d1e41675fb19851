// The seed's training step built from oneDNN primitives, float32: what PyTorch's mkldnn
// path does, and the strongest CPU peer there is here. Per layer: inner_product forward
// without bias, eltwise ReLU on the hidden layers; then ReLU backward, inner_product
// backward data and backward weights, and w -= lr dw. Threads: oneDNN's OpenMP, set with
// OMP_NUM_THREADS (measure.py runs it with 1 and with every thread).
//
// Usage: nobias-onednn-peer --widths 1000,100,100,10 --n 1,16,64 --min-time 0.05
// Prints one JSON line per n, as the Python peers do.
#include <dnnl.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using Dims = memory::dims;

std::vector<long> int_list(const std::string& text) {
  std::vector<long> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(std::stol(item));
  return out;
}

struct Layer {
  memory w, dw, h, a, dh, da;  // h: pre-activation, a: relu(h) (hidden only)
  dnnl::inner_product_forward fwd;
  dnnl::inner_product_backward_data bwd_data;
  dnnl::inner_product_backward_weights bwd_weights;
  dnnl::eltwise_forward relu;
  dnnl::eltwise_backward relu_bwd;
  bool hidden = false;
};

float* ptr(const memory& m) {
  return static_cast<float*>(m.get_data_handle());
}

void fill(const memory& m, std::size_t count, float scale, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, scale);
  for (std::size_t i = 0; i < count; ++i)
    ptr(m)[i] = normal(rng);
}

double seconds_per_step(const std::vector<long>& widths, long n, double min_time) {
  using tag = memory::format_tag;
  const auto f32 = memory::data_type::f32;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::mt19937 rng(0);
  const std::size_t layers = widths.size() - 1;
  memory x({{n, widths[0]}, f32, tag::nc}, engine), y({{n, widths.back()}, f32, tag::nc}, engine);
  fill(x, n * widths[0], 1.f, rng);
  fill(y, n * widths.back(), 1.f, rng);
  std::vector<Layer> net(layers);
  for (std::size_t k = 0; k < layers; ++k) {
    Layer& l = net[k];
    const memory::desc src({n, widths[k]}, f32, tag::nc), dst({n, widths[k + 1]}, f32, tag::nc),
        weights({widths[k + 1], widths[k]}, f32, tag::oi);
    l.hidden = k + 1 < layers;
    l.w = memory(weights, engine);
    l.dw = memory(weights, engine);
    fill(l.w, widths[k] * widths[k + 1], std::sqrt(2.f / widths[k]), rng);
    l.h = memory(dst, engine);
    l.dh = memory(dst, engine);
    l.a = memory(dst, engine);
    l.da = memory(dst, engine);
    const dnnl::inner_product_forward::primitive_desc fwd(
        {dnnl::prop_kind::forward_training, src, weights, dst}, engine);
    l.fwd = dnnl::inner_product_forward(fwd);
    l.bwd_data = dnnl::inner_product_backward_data(
        dnnl::inner_product_backward_data::primitive_desc({src, weights, dst}, engine, fwd));
    l.bwd_weights = dnnl::inner_product_backward_weights(
        dnnl::inner_product_backward_weights::primitive_desc({src, weights, dst}, engine, fwd));
    const dnnl::eltwise_forward::primitive_desc relu(
        {dnnl::prop_kind::forward_training, dnnl::algorithm::eltwise_relu, dst, 0.f}, engine);
    l.relu = dnnl::eltwise_forward(relu);
    l.relu_bwd = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
        {dnnl::algorithm::eltwise_relu, dst, dst, 0.f}, engine, relu));
  }
  const float lr = 1e-9f;
  auto step = [&] {
    const memory* a = &x;
    for (Layer& l : net) {
      l.fwd.execute(stream, {{DNNL_ARG_SRC, *a}, {DNNL_ARG_WEIGHTS, l.w}, {DNNL_ARG_DST, l.h}});
      if (l.hidden) l.relu.execute(stream, {{DNNL_ARG_SRC, l.h}, {DNNL_ARG_DST, l.a}});
      a = l.hidden ? &l.a : &l.h;
    }
    stream.wait();
    Layer& last = net.back();
    const std::size_t outputs = static_cast<std::size_t>(n * widths.back());
    double loss = 0;
    for (std::size_t i = 0; i < outputs; ++i) {
      const float r = ptr(last.h)[i] - ptr(y)[i];
      loss += double(r) * r;
      ptr(last.dh)[i] = 2.f * r;
    }
    for (std::size_t k = layers; k-- > 0;) {
      Layer& l = net[k];
      if (l.hidden) {
        l.relu_bwd.execute(
            stream, {{DNNL_ARG_SRC, l.h}, {DNNL_ARG_DIFF_DST, l.da}, {DNNL_ARG_DIFF_SRC, l.dh}});
      }
      const memory& a_prev = k == 0 ? x : net[k - 1].a;
      l.bwd_weights.execute(
          stream,
          {{DNNL_ARG_SRC, a_prev}, {DNNL_ARG_DIFF_DST, l.dh}, {DNNL_ARG_DIFF_WEIGHTS, l.dw}});
      if (k > 0) {
        l.bwd_data.execute(stream, {{DNNL_ARG_DIFF_DST, l.dh},
                                    {DNNL_ARG_WEIGHTS, l.w},
                                    {DNNL_ARG_DIFF_SRC, net[k - 1].da}});
      }
    }
    stream.wait();
    for (Layer& l : net) {
      const std::size_t count = l.w.get_desc().get_size() / sizeof(float);
      for (std::size_t i = 0; i < count; ++i)
        ptr(l.w)[i] -= lr * ptr(l.dw)[i];
    }
    return loss;
  };
  for (int i = 0; i < 3; ++i)
    step();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  long steps = 0;
  volatile double sink = 0;
  for (;;) {
    sink = sink + step();
    ++steps;
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (elapsed >= min_time) return elapsed / static_cast<double>(steps);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::unordered_map<std::string, std::string> options{
      {"--widths", "1000,100,100,10"}, {"--n", "1,16,64"}, {"--min-time", "0.05"}};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!options.count(argv[i])) {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    options[argv[i]] = argv[i + 1];
  }
  const auto widths = int_list(options["--widths"]);
  const double min_time = std::stod(options["--min-time"]);
  const char* threads = std::getenv("OMP_NUM_THREADS");
  for (long n : int_list(options["--n"])) {
    const double seconds = seconds_per_step(widths, n, min_time);
    std::printf(
        "{\"system\": \"onednn\", \"dtype\": \"f32\", \"n\": %ld, \"seconds_per_step\": "
        "%.9g, \"omp_num_threads\": \"%s\"}\n",
        n, seconds, threads ? threads : "");
    std::fflush(stdout);
  }
  return 0;
}
