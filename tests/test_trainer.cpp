// The training loop end to end (train/trainer.h, tools/train.cpp), run as a user runs it:
// build/bin/train as a child process on a few synthetic images with a tiny model.
//  - resume: a run killed twice (SIGTERM mid-epoch, then SIGKILL after a periodic
//    checkpoint) and resumed ends with weights bit-identical to a straight run;
//  - learning: a tiny model overfits a handful of images (losses fall, mAP on them);
//  - bad situations: NaN (absurd lr), corrupt and truncated checkpoints, a missing image,
//    an existing run without --resume, a resume that changes the lr.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "data/synth.h"
#include "eval/metrics_log.h"
#include "nn/tensor_file.h"
#include "tests/data_helpers.h"
#include "tests/infer_run.h"
#include "tests/testing.h"
#include "train/checkpoint.h"

extern char** environ;

using namespace dr;

namespace {

std::string train_binary() {
  const char* env = std::getenv("DR_BIN_DIR");
  return std::string(env && *env ? env : "build/bin") + "/train";
}

// A few plain synthetic house numbers (1-2 digits, no clutter) in DIR/NAME(.json).
std::string make_data(const std::string& name, int count, uint64_t seed) {
  static std::string root;
  if (root.empty()) root = test::temp_dir("trainer_data");
  data::SynthOptions o;
  o.min_digits = 1;
  o.max_digits = 2;
  o.min_digit_px = 20;
  o.max_digit_px = 40;
  o.textured = o.clutter = o.neighbours = false;
  o.geometry = false;
  o.degrade = false;
  data::write_synth_split(data::SynthGenerator(o), root, name, count, seed, 1, 1, false);
  return root + "/" + name;
}

// The tiny model and run every case shares (about 0.2-0.5 s a step on one core).
std::string tiny_args(const std::string& split, const std::string& out) {
  return " --train-json " + test::q(split + ".json") + " --out " + test::q(out) +
         " --arch v1 --body-norm batch --backbone resnet18 --trainable-layers 5"
         " --min-size 64 --max-size 96 --anchor-sizes 16,24,32,48,64 --aspect-ratios 1,2"
         " --rpn-batch-size 32 --box-batch-size 32 --rpn-pre-nms-train 200 --rpn-post-nms-train 50"
         " --rpn-pre-nms-test 100 --rpn-post-nms-test 50"
         " --batch-size 2 --workers 1 --threads 2 --seed 7 --optimizer adam --lr 2e-4"
         " --warmup-epochs 0.5 --epochs 3";
}

struct Run {
  int rc = -1;
  int signal = 0;
  std::string output;
};

Run run_train(const std::string& args) {
  const std::string cmd = test::q(train_binary()) + args + " 2>&1";
  Run r;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "cannot run " << cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Starts train in the background (output to log), returns its pid.
pid_t spawn_train(const std::string& args, const std::string& log) {
  const std::string cmd = "exec " + test::q(train_binary()) + args + " > " + test::q(log) + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  return pid;
}

// Waits for pid; rc or the signal that ended it.
Run wait_for(pid_t pid, const std::string& log) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Run r;
  if (WIFEXITED(status)) r.rc = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  r.output = ss.str();
  return r;
}

size_t count_lines(const std::string& path) {
  std::ifstream f(path);
  size_t n = 0;
  std::string line;
  while (std::getline(f, line)) n += !line.empty();
  return n;
}

ino_t inode(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// Polls until pred() holds or the child ends; false when it ended first.
bool wait_until(pid_t pid, const std::function<bool()>& pred, double timeout_s = 120) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < timeout_s) {
    if (pred()) return true;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;  // reaped: caller must not wait again
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Every tensor of two weight files equal byte for byte; the message names the first that is not.
std::string compare_weights(const std::string& a, const std::string& b) {
  const TensorFile fa = read_tensor_file(a), fb = read_tensor_file(b);
  if (fa.tensors.size() != fb.tensors.size()) return "tensor counts differ";
  for (size_t i = 0; i < fa.tensors.size(); ++i) {
    const Tensor &x = fa.tensors[i].second, &y = fb.tensors[i].second;
    if (fa.tensors[i].first != fb.tensors[i].first || x.nbytes() != y.nbytes() ||
        std::memcmp(x.raw(), y.raw(), x.nbytes()) != 0)
      return "tensor " + fa.tensors[i].first + " differs";
  }
  return "";
}

// "loss" of every step line, by step.
std::map<int64_t, double> step_losses(const std::string& path) {
  std::map<int64_t, double> out;
  for (const auto& r : eval::read_metrics_log(path))
    if (r.has("step")) out[int64_t(r.get("step"))] = r.get("loss");
  return out;
}

}  // namespace

TEST_CASE("trainer: killed by SIGTERM, then SIGKILL, and resumed, ends bit-identical to a straight run") {
  const std::string split = make_data("resume", 6, 1);  // 3 batches an epoch
  const std::string dir = test::temp_dir("trainer_resume");
  const std::string args_straight = tiny_args(split, dir + "/straight") + " --max-iters 8";
  const Run a = run_train(args_straight);
  INFO(a.output);
  REQUIRE(a.rc == 0);
  REQUIRE(exists(dir + "/straight/final.weights.bin"));

  // 1. SIGTERM once the run has taken two steps: it finishes its step and writes last.ckpt.
  const std::string out = dir + "/killed";
  const std::string args = tiny_args(split, out) + " --max-iters 8 --checkpoint-every 2";
  pid_t pid = spawn_train(args, dir + "/log1.txt");
  REQUIRE(wait_until(pid, [&] { return count_lines(out + "/metrics.jsonl") >= 2; }));
  kill(pid, SIGTERM);
  const Run b = wait_for(pid, dir + "/log1.txt");
  INFO(b.output);
  CHECK(b.rc == 128 + SIGTERM);
  CHECK(b.output.find("interrupted by signal") != std::string::npos);
  const train::Checkpoint ck1 = train::read_checkpoint(out + "/last.ckpt");
  CHECK(ck1.state.iteration >= 2);
  CHECK(ck1.state.iteration < 8);

  // 2. Resumed, then killed hard right after the next periodic checkpoint (or an epoch end).
  // A new checkpoint is a new file renamed over last.ckpt: its inode changes.
  const ino_t first = inode(out + "/last.ckpt");
  pid = spawn_train(" --resume" + args, dir + "/log2.txt");
  const bool saw = wait_until(pid, [&] { return inode(out + "/last.ckpt") != first; });
  CHECK_MESSAGE(saw, "the resumed run ended before its next checkpoint could be awaited");
  Run c;
  if (saw) {
    kill(pid, SIGKILL);
    c = wait_for(pid, dir + "/log2.txt");
    CHECK(c.signal == SIGKILL);
    const int64_t at = train::read_checkpoint(out + "/last.ckpt").state.iteration;
    CHECK(at > ck1.state.iteration);
    CHECK(at < 8);  // killed inside the run, not after it ended
    MESSAGE("SIGTERM at iteration " << ck1.state.iteration << ", SIGKILL after the checkpoint at " << at);
  }
  // 3. Resumed to the end.
  const Run d = run_train(" --resume" + args);
  INFO(d.output);
  REQUIRE(d.rc == 0);
  CHECK(d.output.find("resuming") != std::string::npos);
  const std::string diff = compare_weights(dir + "/straight/final.weights.bin", out + "/final.weights.bin");
  CHECK_MESSAGE(diff.empty(), diff);
  // The log of the interrupted run is the straight run's, line for line (lines a killed
  // process wrote past its checkpoint are dropped on resume).
  const auto la = step_losses(dir + "/straight/metrics.jsonl"), lb = step_losses(out + "/metrics.jsonl");
  CHECK(la.size() == 8);
  CHECK(la == lb);
  const train::Checkpoint end = train::read_checkpoint(out + "/last.ckpt");
  CHECK(end.state.iteration == 8);
  CHECK(end.state.epoch == 2);  // 8 steps of 3 a epoch: 2 done, 2 batches into the third
  CHECK(end.state.batch == 2);
}

TEST_CASE("trainer: a tiny model overfits a handful of images (losses fall, mAP on them)") {
  const std::string split = make_data("learn", 4, 2);
  const std::string out = test::temp_dir("trainer_learn") + "/run";
  // The training images are the validation set: this measures fitting, not generalization.
  // One step an epoch (the 4 images in one batch), 60 steps; SGD with momentum fits this
  // tiny from-scratch model faster and steadier than Adam (measured: mAP 0.95 at step 60).
  const Run r = run_train(tiny_args(split, out) + " --valid-json " + test::q(split + ".json") +
                          " --batch-size 4 --optimizer sgd --momentum 0.9 --lr 0.01"
                          " --clip-grad-norm 10 --warmup-epochs 5 --eta-min 0 --epochs 60"
                          " --valid-every 60 --checkpoint-every 1000");
  INFO(r.output);
  REQUIRE(r.rc == 0);
  const auto log = eval::read_metrics_log(out + "/metrics.jsonl");
  double first = 0, last = 0, val_map = -1, val_acc = -1;
  int n = 0;
  for (const auto& rec : log) {
    if (rec.has("step") && rec.get("step") <= 4) first += rec.get("loss") / 4;
    if (rec.has("step") && rec.get("step") > 56) last += rec.get("loss") / 4, ++n;
    if (rec.has("val_map")) val_map = rec.get("val_map"), val_acc = rec.get("val_acc");
  }
  MESSAGE("mean loss of the first 4 steps " << first << ", of the last 4 " << last << "; mAP "
                                            << val_map << ", accuracy " << val_acc);
  CHECK(n == 4);
  CHECK(last < 0.5 * first);
  CHECK(val_map >= 0.9);
  CHECK(exists(out + "/best.weights.bin"));
  CHECK(exists(out + "/plots/loss.png"));
  // The written weights run in `infer` as they are.
  const test::RunResult inf = test::run_infer("--weights " + test::q(out + "/best.weights.bin") +
                                              " --coco " + test::q(split + ".json") + " --out " +
                                              test::q(out + "/infer"));
  INFO(inf.output);
  CHECK(inf.rc == 0);
}

TEST_CASE("trainer: NaN, corrupt or truncated checkpoints, missing images are clear errors") {
  const std::string split = make_data("bad", 4, 3);
  const std::string dir = test::temp_dir("trainer_bad");

  SUBCASE("an absurd learning rate: stopped naming the iteration and loss, last.ckpt intact") {
    const std::string out = dir + "/nan";
    const Run r = run_train(tiny_args(split, out) + " --lr 1e30 --checkpoint-every 1 --max-iters 6");
    INFO(r.output);
    CHECK(r.rc == 3);
    CHECK(r.output.find("is not finite") != std::string::npos);
    CHECK(r.output.find("iteration ") != std::string::npos);
    CHECK(r.output.find("the last good checkpoint is") != std::string::npos);
    const train::Checkpoint ck = train::read_checkpoint(out + "/last.ckpt");  // verified by its checksum
    CHECK(ck.state.iteration >= 1);
    CHECK_FALSE(exists(out + "/final.weights.bin"));
  }

  SUBCASE("corrupt and truncated checkpoints; a run that exists; a resume changing the lr") {
    const std::string out = dir + "/ok";
    const Run r = run_train(tiny_args(split, out) + " --max-iters 2");
    INFO(r.output);
    REQUIRE(r.rc == 0);
    std::string bytes;
    {
      std::ifstream f(out + "/last.ckpt", std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    const Run again = run_train(tiny_args(split, out) + " --max-iters 2");
    CHECK(again.rc == 1);
    CHECK(again.output.find("last.ckpt exists") != std::string::npos);
    const Run lr = run_train(" --resume" + tiny_args(split, out) + " --lr 0.5 --max-iters 3");
    CHECK(lr.rc == 1);
    CHECK(lr.output.find("lr") != std::string::npos);
    CHECK(lr.output.find("differs") != std::string::npos);

    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data() + 16, 8);
    std::string flipped = bytes;
    flipped[(24 + header_len + 63) / 64 * 64 + 5] ^= 0x40;
    {
      std::ofstream f(out + "/last.ckpt", std::ios::binary | std::ios::trunc);
      f.write(flipped.data(), std::streamsize(flipped.size()));
    }
    const Run corrupt = run_train(" --resume" + tiny_args(split, out) + " --max-iters 3");
    CHECK(corrupt.rc == 1);
    CHECK(corrupt.output.find(out + "/last.ckpt") != std::string::npos);
    CHECK(corrupt.output.find("corrupt") != std::string::npos);

    {
      std::ofstream f(out + "/last.ckpt", std::ios::binary | std::ios::trunc);
      f.write(bytes.data(), std::streamsize(bytes.size() / 2));
    }
    const Run cut = run_train(" --resume" + tiny_args(split, out) + " --max-iters 3");
    CHECK(cut.rc == 1);
    CHECK(cut.output.find(out + "/last.ckpt") != std::string::npos);
    CHECK(cut.output.find("truncated") != std::string::npos);
    // The final weights written before are untouched by the failed resumes.
    CHECK(read_tensor_file(out + "/final.weights.bin").tensors.size() > 0);
  }

  SUBCASE("a missing image: the error names the file") {
    const std::string split2 = make_data("missing", 3, 4);
    REQUIRE(std::remove((split2 + "/2.png").c_str()) == 0);
    const Run r = run_train(tiny_args(split2, dir + "/missing_run") + " --max-iters 2");
    CHECK(r.rc == 1);
    CHECK(r.output.find("2.png") != std::string::npos);
  }
}

TEST_CASE("trainer: a recipe with flags on top; fine-tuning re-initializes a predictor of another class count") {
  const std::string split = make_data("finetune", 2, 5);
  const std::string dir = test::temp_dir("trainer_finetune");
  // A recipe (lr 0.5, min_size 80) under flags (lr 2e-4 wins; max_size joins "model").
  const std::string recipe = dir + "/recipe.json";
  std::ofstream(recipe) << R"({"lr": 0.5, "epochs": 2, "model": {"min_size": 80, "num_classes": 12}})";
  // Also gradient accumulation: 2 batches of 1 image make one optimizer step.
  const Run a = run_train(" --config " + test::q(recipe) + tiny_args(split, dir + "/twelve") +
                          " --min-size 64 --max-size 100 --max-iters 1 --batch-size 1 --accumulate 2");
  INFO(a.output);
  REQUIRE(a.rc == 0);
  CHECK(a.output.find("2 batches of 1, 1 optimizer steps an epoch") != std::string::npos);
  CHECK(step_losses(dir + "/twelve/metrics.jsonl").size() == 1);
  std::ifstream f(dir + "/twelve/settings.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  CHECK(j["settings"]["lr"] == 2e-4);            // the flag
  CHECK(j["settings"]["epochs"] == 3);           // tiny_args' flag over the recipe's 2
  CHECK(j["config"]["min_size"] == 64);          // flag over the recipe's model key
  CHECK(j["config"]["max_size"] == 100);         // flag
  CHECK(j["config"]["num_classes"] == 12);       // the recipe's model key
  CHECK(j["config"]["backbone"] == "resnet18");

  // 12 classes -> the data's 11: the box predictor starts fresh, the rest is loaded.
  const Run b = run_train(tiny_args(split, dir + "/eleven") + " --finetune " +
                          test::q(dir + "/twelve/final.weights.bin") + " --max-iters 2");
  INFO(b.output);
  REQUIRE(b.rc == 0);
  CHECK(b.output.find("4 re-initialized") != std::string::npos);
  const TensorFile twelve = read_tensor_file(dir + "/twelve/final.weights.bin");
  const TensorFile eleven = read_tensor_file(dir + "/eleven/final.weights.bin");
  CHECK(eleven.get("roi_heads.box_predictor.cls_score.weight").size(0) == 11);
  CHECK(twelve.get("roi_heads.box_predictor.cls_score.weight").size(0) == 12);
  CHECK(eleven.meta["config"]["num_classes"] == 11);
  // A tensor the fine-tune loaded and then trained (step 0 of the warmup from 0 has lr 0,
  // step 1 moves it): same shape, moved a little.
  const Tensor& w0 = twelve.get("backbone.fpn.layer_blocks.0.0.weight");
  const Tensor& w1 = eleven.get("backbone.fpn.layer_blocks.0.0.weight");
  REQUIRE(w0.shape() == w1.shape());
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < w0.numel(); ++i)
    diff += std::fabs(w0.data<float>()[i] - w1.data<float>()[i]), scale += std::fabs(w0.data<float>()[i]);
  CHECK(diff > 0);
  CHECK(diff < 0.1 * scale);  // loaded (a fresh init would differ by about the scale)
}
