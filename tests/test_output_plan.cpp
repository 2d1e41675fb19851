// Paths a run touches (PathPlan) and outputs committed together (StagedOutputs).
#include <doctest/doctest.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"
#include "nobias/weights_io.hpp"
#include "output_plan.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nobias::PathPlan;
using nobias::ValueError;
using test_support::TempDir;

using test_support::read_bytes;
using test_support::write_bytes;

namespace {

std::string check_message(const PathPlan& plan) {
  try {
    plan.check();
  } catch (const ValueError& e) {
    return e.what();
  }
  return "no conflict";
}

}  // namespace

TEST_CASE("output_plan.refuses_outputs_that_overwrite_inputs_or_outputs") {
  TempDir dir("plan");
  const std::string d = dir.path().string();
  fs::create_directory(dir.file("wi"));
  write_bytes(dir.file("wi/w1.npy"), "x");
  write_bytes(dir.file("x.npy"), "x");
  fs::create_directory(dir.file("ck"));
  write_bytes(dir.file("ck/CURRENT"), "state-000001\n");
  {
    // The cases, one by one.
    PathPlan plan;
    plan.add_output_directory("--weights-out", d + "/wo");
    plan.add_output_file("--loss-csv", d + "/wo/w2.npy");
    CHECK(check_message(plan) == "--loss-csv " + d + "/wo/w2.npy is inside --weights-out " + d +
                                     "/wo: an output directory may not hold another output");
  }
  {
    PathPlan plan;
    plan.add_input("--x", d + "/wi/w1.npy");
    plan.add_output_directory("--weights-out", d + "/wi");
    CHECK(check_message(plan) == "--x " + d + "/wi/w1.npy is inside --weights-out " + d +
                                     "/wi: an output directory may not hold an input");
  }
  {
    PathPlan plan;
    plan.add_output_directory("--checkpoint", d + "/ck");
    plan.add_output_file("--loss-csv", d + "/ck/CURRENT");
    CHECK(check_message(plan).find("--loss-csv " + d + "/ck/CURRENT is inside --checkpoint") == 0);
  }
  {
    PathPlan plan;
    plan.add_input("--weights-in", d + "/wi");
    plan.add_output_file("--loss-csv", d + "/wi/w1.npy");
    CHECK(check_message(plan) ==
          "--loss-csv " + d + "/wi/w1.npy would write inside --weights-in " + d +
              "/wi, which is an input: an output may not overwrite an input");
  }
  {
    // The same file by another name: a symlink, a hard link, "a/../b".
    fs::create_symlink(dir.file("x.npy"), dir.file("link.npy"));
    fs::create_hard_link(dir.file("x.npy"), dir.file("hard.npy"));
    for (const std::string& other : {d + "/link.npy", d + "/hard.npy", d + "/wi/../x.npy"}) {
      CAPTURE(other);
      PathPlan plan;
      plan.add_input("--x", d + "/x.npy");
      plan.add_output_file("--out", other);
      CHECK(check_message(plan) == "--out " + other + " would overwrite --x " + d +
                                       "/x.npy: an output may not be an input");
    }
  }
  {
    PathPlan plan;
    plan.add_output_file("--out", d + "/new.csv");
    plan.add_output_file("--loss-csv", d + "/./new.csv");
    CHECK(check_message(plan).find("are the same path: two outputs may not share it") !=
          std::string::npos);
  }
  {
    // An output directory inside another one (not yet existing either).
    PathPlan plan;
    plan.add_output_directory("--checkpoint", d + "/runs");
    plan.add_output_directory("--weights-out", d + "/runs/final");
    CHECK(check_message(plan).find("--weights-out " + d + "/runs/final is inside --checkpoint") ==
          0);
  }
}

TEST_CASE("output_plan.accepts_separate_paths_and_the_same_flag_twice") {
  TempDir dir("plan-ok");
  const std::string d = dir.path().string();
  fs::create_directory(dir.file("ck"));
  write_bytes(dir.file("x.npy"), "x");
  PathPlan plan;
  plan.add_input("--x", d + "/x.npy");
  plan.add_input("--y", d + "/x.npy");  // two inputs may share a file
  plan.add_input("--checkpoint", d + "/ck");
  plan.add_output_directory("--checkpoint", d + "/ck");  // resume and save: one flag
  plan.add_output_directory("--weights-out", d + "/wo");
  plan.add_output_file("--loss-csv", d + "/loss.csv");
  plan.add_output_file("--history", "");  // not given
  CHECK(check_message(plan) == "no conflict");
  // An output directory that owns only some names lets other files be inputs inside it.
  PathPlan owned;
  owned.add_output_directory("--weights-out", d, nobias::is_model_file_name);
  owned.add_input("--x", d + "/x.npy");
  CHECK(check_message(owned) == "no conflict");
  owned.add_input("--y", d + "/w1.npy");
  CHECK(check_message(owned).find("--y " + d + "/w1.npy is inside --weights-out") == 0);
}

TEST_CASE("output_plan.output_names_their_format") {
  // edges2 item 1: nobias-predict --out p.txt wrote .npy bytes into p.txt.
  const std::vector<std::string> out = {".npy", ".csv", ".tsv"};
  CHECK(nobias::output_format("--out", "p.npy", out) == 0);
  CHECK(nobias::output_format("--out", "d.x/p.CSV", out) == 1);  // any case; the name's own
  CHECK(nobias::output_format("--out", "p.tsv", out) == 2);
  CHECK(nobias::output_format("--out", "/dev/stdout", out) == 0);  // none: the first format
  CHECK(nobias::output_format("--out", "fifo", out) == 0);
  CHECK_ERROR(ValueError, nobias::output_format("--out", "p.txt", out),
              "--out p.txt: .txt is not a format --out writes; expected a name ending in .npy, "
              ".csv or .tsv (without an extension: .npy)");
  CHECK_ERROR(ValueError, nobias::output_format("--onnx", "m.npy.bak", {".onnx"}),
              "--onnx m.npy.bak: .bak is not a format --onnx writes; expected a name ending in "
              ".onnx or without an extension");

  // check() refuses the name before any other check (nothing on disk is looked at) and for
  // each output file given extensions.
  TempDir dir("plan-format");
  PathPlan plan;
  plan.add_input("--x", dir.file("x.npy"));
  plan.add_output_file("--loss-csv", dir.file("l.csv"), {".csv", ".tsv"});
  plan.add_output_file("--history", dir.file("h.tsv"), {".csv", ".tsv"});
  CHECK(check_message(plan) == "no conflict");
  plan.add_output_file("--out", dir.file("x.npy") + "/../p.json", out);
  CHECK(check_message(plan) ==
        "--out " + dir.file("x.npy") +
            "/../p.json: .json is not a format --out writes; expected a "
            "name ending in .npy, .csv or .tsv (without an extension: .npy)");
  PathPlan loss;
  loss.add_output_file("--loss-csv", dir.file("loss.npy"), {".csv", ".tsv"});
  CHECK(check_message(loss).find("--loss-csv " + dir.file("loss.npy") +
                                 ": .npy is not a format --loss-csv writes; expected a name "
                                 "ending in .csv or .tsv") == 0);
}

TEST_CASE("output_plan.refuses_output_directories_too_long_for_what_is_saved_inside") {
  // Issue 19 item 13: such names failed only at the save, after the whole run.
  TempDir dir("plan-long");
  PathPlan plan;
  plan.add_output_directory("--weights-out", dir.file(std::string(256, 'w')),
                            nobias::is_model_file_name);
  CHECK_ERROR(nobias::IoError, plan.check(), "--weights-out: the directory name 'wwww");
  // One path: a weight set's temporaries fit in it, a checkpoint's states do not.
  std::string deep = "/no-such-dir";
  while (deep.size() < PATH_MAX - 1 - nobias::longest_name_in_file_set() - 1)
    deep += "/d";
  deep.resize(PATH_MAX - 1 - nobias::longest_name_in_file_set() - 1, 'd');
  PathPlan weights;
  weights.add_output_directory("--weights-out", deep, nobias::is_model_file_name);
  CHECK(check_message(weights) == "no conflict");
  PathPlan checkpoint;
  checkpoint.add_output_directory("--checkpoint", deep, {}, nobias::longest_name_in_checkpoint());
  CHECK_ERROR(nobias::IoError, checkpoint.check(),
              "(with the names nobias creates inside it, " +
                  std::to_string(deep.size() + 1 + nobias::longest_name_in_checkpoint()) +
                  " characters) is longer than the system's limit of ");
}

TEST_CASE("output_plan.staged_outputs_commit_together_or_not_at_all") {
  TempDir dir("staged-outputs");
  write_bytes(dir.file("loss.csv"), "old");
  std::vector<nobias::Matrix<float>> w;
  w.push_back(nobias::Matrix<float>(2, 3));
  {
    nobias::StagedOutputs outputs;
    outputs.stage_file(
        dir.file("loss.csv"), [](std::ostream& out) { out << "new"; }, "test");
    outputs.add(nobias::stage_weights(dir.file("wo"), w));
    // A failure before commit (here: the third output cannot be written).
    CHECK_THROWS_AS(outputs.stage_file(
                        dir.file("no/such/dir/x"), [](std::ostream&) {}, "test"),
                    nobias::IoError);
  }
  CHECK(read_bytes(dir.file("loss.csv")) == "old");
  CHECK(dir.names() == std::vector<std::string>{"loss.csv"});
  {
    nobias::StagedOutputs outputs;
    outputs.stage_file(
        dir.file("loss.csv"), [](std::ostream& out) { out << "new"; }, "test");
    outputs.add(nobias::stage_weights(dir.file("wo"), w));
    CHECK(read_bytes(dir.file("loss.csv")) == "old");
    outputs.commit();
  }
  CHECK(read_bytes(dir.file("loss.csv")) == "new");
  CHECK(nobias::load_weights<float>(dir.file("wo")).size() == 1);
  CHECK(dir.names() == std::vector<std::string>{"loss.csv", "wo"});
}
