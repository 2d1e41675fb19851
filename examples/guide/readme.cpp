#include <nobias/nobias.hpp>

#include <cstdio>

int main() {
  nobias::Matrix<float> x(64, 1000), y(64, 10);                  // rows x cols, zeros: set x(i, j)
  nobias::NormalGenerator random(/*seed=*/1, /*stream=*/1);      // stream 1: not the weights' draw
  nobias::fill_normal(x.view(), random);                         // x ~ N(0, 1); y stays 0
  nobias::Network<float> net({1000, 100, 100, 10}, /*seed=*/0);  // widths d_in, d1, d2, d_out
  double loss = net.train_step(x, y, /*lr=*/5e-9f);              // one fused SGD step; L before it
  nobias::Matrix<float> yhat = net.predict(x);                   // (64, 10)
  auto g = net.gradients(x, y);                                  // g.loss, g.dw[k] = dL/dw_{k+1}
  nobias::save_weights("out", net.weights());                    // out/w1.npy ... w3.npy, for numpy
  std::printf("loss %.4g, then %.4g; yhat(0, 0) = %.4g\n", loss, g.loss, yhat(0, 0));
}
