// nobias-train's flags for CLI11: names, help texts, per-value validators, needs/excludes.
#include <limits>
#include <string>

#include "cli_common.hpp"
#include "nobias/blas.hpp"
#include "train_options.hpp"

namespace nobias_tools {

namespace {

CLI::Validator layers_validator() {
  return CLI::Validator(
      [](std::string& text) {
        try {
          parse_layers(text);
          return std::string();
        } catch (const UsageError& e) {
          return std::string(e.what());
        }
      },
      "");
}

constexpr std::uint64_t kMaxSize = std::numeric_limits<std::size_t>::max();

}  // namespace

void define_train_flags(CLI::App& app, TrainFlags& f) {
  app.set_version_flag("--version", [] {
    return std::string("nobias-train " NOBIAS_VERSION "\nBLAS: ") + nobias::blas_description();
  });
  app.add_option("--layers", f.layers,
                 "Widths d_in,d_1,...,d_out (default 1000,100,100,10, or from "
                 "--weights-in, or d_in,100,100,d_out from --x/--y)")
      ->type_name("W,W,...")
      ->check(layers_validator());
  auto* rows = app.add_option("--rows", f.rows, "Rows of the generated batch (default 64)")
                   ->type_name("N")
                   ->transform(whole_number("--rows", 1, kMaxSize));
  auto* steps = app.add_option("--steps", f.steps, "Full-batch steps (default 500)")
                    ->type_name("N")
                    ->transform(whole_number("--steps", 1, kMaxSteps));
  auto* epochs =
      app.add_option(
             "--epochs", f.epochs,
             "Train by epochs of mini-batches instead of --steps (with --x/--y alone: up to " +
                 std::to_string(kDataMaxEpochs) + ", stopping early)")
          ->type_name("E")
          ->transform(whole_number("--epochs", 1, kMaxSteps));
  steps->excludes(epochs);
  app.add_option("--batch-size", f.batch_size,
                 "Rows per mini-batch with --epochs (default " + std::to_string(kDefaultBatchSize) +
                     "; >= 1; more than the rows: the whole set; the last batch may be smaller)")
      ->type_name("B")
      ->transform(whole_number("--batch-size", 1, kMaxSize));
  app.add_flag("--no-shuffle", f.no_shuffle,
               "With --epochs: keep the rows in file order (default: a new order every epoch)");
  auto* checkpoint =
      app.add_option("--checkpoint", f.checkpoint,
                     "With --epochs: save the whole training state into DIR (created if missing)")
          ->type_name("DIR");
  app.add_option("--checkpoint-every", f.checkpoint_every,
                 "Epochs between checkpoints (default 1); the last epoch is always saved")
      ->type_name("E")
      ->transform(whole_number("--checkpoint-every", 1, kMaxSize))
      ->needs(checkpoint);
  auto* resume = app.add_option("--resume", f.resume,
                                "With --epochs: continue from the checkpoint in DIR, bit for bit "
                                "as if never stopped; give the same flags as the first run")
                     ->type_name("DIR");
  auto* val_x =
      app.add_option("--val-x", f.val_x, "Validation inputs with --epochs")->type_name("X.npy");
  auto* val_y =
      app.add_option("--val-y", f.val_y, "Validation targets with --epochs")->type_name("Y.npy");
  val_x->needs(val_y);
  val_y->needs(val_x);
  app.add_option("--lr", f.lr,
                 "Learning rate (default " + format_g(kDefaultLearningRate) +
                     " for sgd with --loss sum, " + format_g(kDefaultAdamLearningRate) +
                     " for adam; required otherwise)")
      ->type_name("L")
      ->check(positive_number("--lr"));
  app.add_option("--optimizer", f.optimizer,
                 "sgd, momentum or adam (default adam with --x/--y alone, else sgd)")
      ->type_name("sgd|momentum|adam")
      ->check(one_of("--optimizer", {"sgd", "momentum", "adam"}));
  app.add_option(
         "--momentum", f.momentum,
         "Momentum in [0, 1) (default " + format_g(kDefaultMomentum) + "); only with momentum")
      ->type_name("M")
      ->transform(real_number("--momentum", 0.0, 1.0, "in [0, 1)"));
  app.add_flag("--nesterov", f.nesterov, "Nesterov momentum; only with --optimizer momentum");
  app.add_option("--weight-decay", f.weight_decay, "L2 weight decay >= 0 (default 0)")
      ->type_name("D")
      ->transform(real_number("--weight-decay", 0.0, std::numeric_limits<double>::infinity(),
                              "that is finite and >= 0"));
  app.add_option("--loss", f.loss,
                 "sum of squared errors, or mean (divided by rows x d_out) (default mean with "
                 "--x/--y alone, else sum)")
      ->type_name("sum|mean")
      ->check(one_of("--loss", {"sum", "mean"}));
  app.add_option("--seed", f.seed,
                 "Seed of the generated data, the weights and the shuffle (default 0)")
      ->type_name("S")
      ->transform(whole_number("--seed", 0));
  app.add_option("--dtype", f.dtype, "f32 (default) or f64")
      ->type_name("f32|f64")
      ->check(one_of("--dtype", {"f32", "f64"}));
  app.add_option("--init", f.init,
                 "Starting weights: normal (the seed's N(0, 1)) or he (N(0, 2 / d_in), which keeps "
                 "deep or wide networks trainable) (default he with --x/--y alone, else normal)")
      ->type_name("normal|he")
      ->check(one_of("--init", {"normal", "he"}));
  auto* x = app.add_option("--x", f.x, "Inputs, an n x d_in .npy file")->type_name("X.npy");
  auto* y = app.add_option("--y", f.y, "Targets, an n x d_out .npy file")->type_name("Y.npy");
  x->needs(y);
  y->needs(x);
  // With data the batch is all of its rows; a --rows that would be silently ignored is a mistake.
  rows->excludes(x);
  auto* weights_in =
      app.add_option("--weights-in", f.weights_in, "Start from w1.npy..wK.npy in DIR")
          ->type_name("DIR");
  resume->excludes(weights_in);  // the checkpoint holds the weights
  app.add_option("--weights-out", f.weights_out,
                 "Write the trained w1.npy..wK.npy into DIR (must exist)")
      ->type_name("DIR");
  app.add_option("--loss-csv", f.loss_csv, "Write step,loss for every step to FILE")
      ->type_name("FILE");
  app.add_option("--threads", f.threads,
                 "Threads of every product (default: chosen per product; NOBIAS_THREADS)")
      ->type_name("N")
      ->transform(whole_number("--threads", 1, std::numeric_limits<int>::max()));
  app.add_option("--log-every", f.log_every, "Print progress every K steps (default steps/10)")
      ->type_name("K")
      ->transform(whole_number("--log-every", 1, kMaxSize))
      ->excludes(epochs);  // with --epochs progress is shown per epoch
  app.add_flag("--quiet", f.quiet, "Print only the final line (no progress, no epoch lines)");
  app.add_option("--patience", f.patience,
                 "Stop when the validation loss has not improved by " +
                     format_g(kEarlyStopTolerance) +
                     " for this many epochs, keeping the best "
                     "epoch's weights (default " +
                     std::to_string(kDefaultPatience) + " with --x/--y alone; 0: never)")
      ->type_name("N")
      ->transform(whole_number("--patience", 0, kMaxSize));
  auto* fraction =
      app.add_option("--validation-fraction", f.validation_fraction,
                     "Hold out this fraction of --x/--y's rows (seeded by --seed) to validate "
                     "on (default " +
                         format_g(kDefaultValidationFraction) +
                         " with --x/--y alone and no --val-x/--val-y)")
          ->type_name("F")
          ->transform(real_number("--validation-fraction", 0.0, 1.0, "in (0, 1)"));
  fraction->excludes(val_x);
  fraction->excludes(val_y);
  fraction->needs(x);
  app.add_flag("--standardize", f.standardize,
               "Centre and scale the columns of --x, and of a regression --y, by the training "
               "rows' mean and standard deviation (saved with --weights-out; prediction undoes "
               "it). Needed when the targets have an offset: a bias-free network has f(0) = 0")
      ->needs(x);
  app.add_option("--history", f.history,
                 "Write one CSV row per epoch: train and validation loss, the validation "
                 "metrics, seconds")
      ->type_name("FILE.csv");
}

}  // namespace nobias_tools
