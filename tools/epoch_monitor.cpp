#include "epoch_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli_common.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/metrics.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"

namespace nobias_tools {

template <class T>
EpochMonitor<T>::EpochMonitor(nobias::Network<T>& net, const nobias::RowSource<T>& train,
                              std::size_t classes, const nobias::RowSource<T>& validation,
                              nobias::MatrixView<const T> validation_y,
                              const nobias::Standardization& stats, const TrainOptions& o,
                              std::size_t first_epoch, const char* program)
    : net_(net),
      train_(train),
      validation_(validation),
      validation_y_(validation_y),
      y_stats_{{}, {}, stats.y_mean, stats.y_scale},
      o_(o),
      first_epoch_(first_epoch),
      program_(program) {
  if (validation_.rows() > 0) {
    classifier_ = classes > 0;
    per_row_ = o_.reduction == nobias::Reduction::Sum && validation_.rows() != train_.rows();
  }
}

template <class T>
void EpochMonitor<T>::start() {
  start_loss_ = nobias::full_loss<T>(net_, train_, nobias::Reduction::Mean);
}

template <class T>
void EpochMonitor<T>::epoch_done(const nobias::EpochReport& epoch) {
  HistoryRow row{epoch.epoch, epoch.train_loss, epoch.validation_loss, {}, epoch.seconds};
  if (validation_.rows() > 0) {
    // A block of predictions at a time, in the targets' units: never every row's outputs.
    nobias::MetricsAccumulator<T> scores(validation_y_, classifier_);
    nobias::predict_windows<T>(net_, validation_, [&](std::size_t first, nobias::MatrixView<T> p) {
      nobias::unstandardize_y<T>(y_stats_, p);
      scores.add(first, p);
    });
    row.val = scores.finish();
  }
  history_.push_back(row);
  if (epoch.epoch == first_epoch_) {
    // Going nowhere: after a whole epoch the loss over the training rows should be below
    // the starting weights' loss over the same rows.
    const double after = nobias::full_loss<T>(net_, train_, nobias::Reduction::Mean);
    if (!(after < start_loss_)) {
      flush_standard_output();
      std::fprintf(stderr,
                   "%s: warning: the loss after the first epoch (%s per element) is "
                   "not below the starting weights' (%s): training is going nowhere; try another "
                   "--lr (was %s)%s\n",
                   program_, format_g(after).c_str(), format_g(start_loss_).c_str(),
                   format_g(o_.lr).c_str(),
                   o_.optimizer.kind == nobias::OptimizerKind::Sgd ? " or --optimizer adam" : "");
    }
  }
  if (!o_.quiet) {
    std::string line = "epoch " + std::to_string(epoch.epoch) + "/" + std::to_string(o_.epochs) +
                       " train_loss " + format_g(epoch.train_loss);
    if (validation_.rows() > 0) {
      line += " val_loss " + format_g(epoch.validation_loss);
      if (per_row_) {
        line += " train_loss_per_row " +
                format_g(epoch.train_loss / static_cast<double>(train_.rows())) +
                " val_loss_per_row " +
                format_g(epoch.validation_loss / static_cast<double>(validation_.rows()));
      }
      // Each task's own metrics: r2 and mae mean nothing of class scores.
      if (classifier_) {
        line += " val_accuracy " + format_g(row.val.accuracy.value_or(std::nan("")));
      } else {
        line += " val_mse " + format_g(row.val.mse) + " val_mae " + format_g(row.val.mae) +
                " val_r2 " + format_g(row.val.r2);
      }
    }
    std::printf("%s samples/s %.0f\n", line.c_str(), epoch.samples_per_second);
    if (epoch.stops) {
      std::printf("stopped early: val_loss has not improved by %s for %s\n",
                  format_g(kEarlyStopTolerance).c_str(),
                  nobias::counted(epoch.epochs_without_improvement, "epoch").c_str());
    }
    flush_standard_output();
  }
}

template <class T>
void EpochMonitor<T>::finish() {
  // The epoch kept is named by the run's last line.
  warn_dead_layers();
}

template <class T>
void EpochMonitor<T>::warn_dead_layers() {
  // Hidden layer k's pre-activations are the output of the network cut after w_k.
  // In blocks of rows: h for every row at once would take rows x the layer's width.
  constexpr std::size_t kRows = 4096;
  std::vector<nobias::Matrix<T>> front;
  for (std::size_t k = 0; k + 1 < net_.layers(); ++k) {
    front.push_back(net_.weights()[k]);
    const nobias::Network<T> cut(front);
    bool dead = true;
    // Rows read where they lie are viewed; listed or standardized ones gathered, a block at a
    // time (a quarter of kRows: the buffer is the input's width, not a hidden layer's).
    const std::size_t step = train_.in_place() ? kRows : kRows / 4;
    nobias::Matrix<T> block(train_.in_place() ? 0 : std::min(step, train_.rows()), train_.x_cols());
    for (std::size_t begin = 0; dead && begin < train_.rows(); begin += step) {
      const std::size_t count = std::min(step, train_.rows() - begin);
      if (!train_.in_place()) train_.gather_x(block.row_block(0, count), nullptr, begin);
      const nobias::Matrix<T> h = cut.predict(train_.in_place() ? train_.x().row_block(begin, count)
                                                                : block.row_block(0, count));
      dead = std::all_of(h.data(), h.data() + h.size(), [](T v) { return v <= T(0); });
    }
    if (dead) {
      flush_standard_output();
      std::fprintf(stderr,
                   "%s: warning: hidden layer %zu (%zu units) is 0 on every training "
                   "row (dead ReLUs): the output no longer depends on the input; try a smaller "
                   "--lr (was %s)\n",
                   program_, k + 1, cut.output_width(), format_g(o_.lr).c_str());
      return;
    }
  }
}

template class EpochMonitor<float>;
template class EpochMonitor<double>;

}  // namespace nobias_tools
