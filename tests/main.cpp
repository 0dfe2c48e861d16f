// The test runner: doctest's main plus two project rules.
//  - CPU-vs-CUDA cases are named "gpu: ...". Without a CUDA device they are excluded and
//    reported as skipped (visibly, never as passed); DR_REQUIRE_GPU=1 turns a missing
//    device into a failure (make gpu-check).
//  - The last line is "tests: N passed, M failed, K skipped" for CI's log reader.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "nn/context.h"

namespace {

struct Counts {
  unsigned passed = 0, failed = 0, skipped_gpu = 0;
};
Counts* g_counts = nullptr;  // test-runner bookkeeping only, set in main

struct CountingListener : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override {
    if (!g_counts) return;
    g_counts->failed = s.numTestCasesFailed;
    g_counts->passed = s.numTestCasesPassingFilters - s.numTestCasesFailed;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData& tc) override {
    if (g_counts && std::strncmp(tc.m_name, "gpu:", 4) == 0) g_counts->skipped_gpu++;
  }
};
REGISTER_LISTENER("counting", 1, CountingListener);

}  // namespace

int main(int argc, char** argv) {
  Counts counts;
  g_counts = &counts;
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  const char* req = std::getenv("DR_REQUIRE_GPU");
  const bool require_gpu = req && std::string(req) == "1";
  const bool have_gpu = dr::cuda_available();
  if (!have_gpu) {
    if (require_gpu) {
      std::fprintf(stderr, "DR_REQUIRE_GPU=1 but no CUDA device is visible%s\n",
                   DR_CUDA ? "" : " (this is a CPU-only build: GPU=0)");
      return 1;
    }
    context.addFilter("test-case-exclude", "gpu:*");
    std::printf("[tests] no CUDA device%s: CPU-vs-CUDA cases (\"gpu: ...\") are SKIPPED\n",
                DR_CUDA ? "" : " and a CPU-only build");
  }
  int rc = context.run();
  if (context.shouldExit()) return rc;
  std::printf("tests: %u passed, %u failed, %u skipped\n", counts.passed, counts.failed,
              counts.skipped_gpu);
  return rc;
}
