# digit-rcnn: a from-scratch CUDA/C++ Faster R-CNN for house-number digits.
# `make help` lists the targets. Sources are discovered by folder, so adding a
# file needs no edit here:
#   kernels/ nn/ detector/ data/ eval/ train/  -> build/libdr.a  (*.cpp with g++, *.cu with nvcc)
#   tests/*.cpp                                -> build/bin/dr_tests (one doctest binary)
#   tools/*.cpp                                -> build/bin/<name>
#   bench/*.cpp                                -> build/bin/bench_<name>
#   tools/ref/*.py                             -> build/ref/<name>.bin (torch reference dumps)
SHELL := /bin/bash
.DEFAULT_GOAL := all
BUILD ?= build

# ---- toolchain detection ------------------------------------------------------
CXX ?= g++
NVCC ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# GPU=auto builds CUDA code whenever nvcc exists (CI has nvcc but no GPU, so it
# compiles every GPU line); GPU=0 forces a CPU-only build.
GPU ?= auto
ifeq ($(GPU),auto)
  override GPU := $(if $(NVCC),1,0)
endif
CUDNN_INC ?= $(firstword $(dir $(wildcard $(CUDA_HOME)/include/cudnn.h /usr/include/cudnn.h /usr/include/x86_64-linux-gnu/cudnn.h)))
CUDNN_LIB ?= $(firstword $(dir $(wildcard $(CUDA_HOME)/lib64/libcudnn.so /usr/lib/x86_64-linux-gnu/libcudnn.so)))
CUBLAS_INC ?= $(firstword $(dir $(wildcard $(CUDA_HOME)/include/cublas_v2.h)))
# sm_80 (A100) and sm_90 (H100/H200) as machine code, plus compute_90 PTX for newer GPUs.
CUDA_ARCHS ?= 80 90
CUDA_PTX ?= 90
GENCODE := $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) -gencode arch=compute_$(CUDA_PTX),code=compute_$(CUDA_PTX)

OPT ?= -O2
DEBUG_SYNC ?= 0
CPPFLAGS := -I. -I/usr/include/stb -DDR_DEBUG_SYNC=$(DEBUG_SYNC)
# GCC 12 vectorizes at -O2 only loops that need no runtime alias check, which leaves our
# CPU kernels' elementwise loops (y[i] = f(x[i]) over two pointers) scalar; the "cheap" cost
# model allows the check. Per-element results are the same (no reassociation, no FMA at the
# baseline x86-64 ISA); ReLU, batch-norm affine, add etc. run several times faster.
VECT ?= -fvect-cost-model=cheap
CXXFLAGS := -std=c++17 $(OPT) $(VECT) -g -Wall -Wextra -Wno-unused-parameter -fopenmp -MMD -MP
LDLIBS := -lstb -lopenblas -lpthread -fopenmp
ifeq ($(GPU),1)
  ifeq ($(strip $(CUDNN_INC)),)
    $(error GPU=1 but cudnn.h was not found; set CUDNN_INC/CUDNN_LIB or build with GPU=0)
  endif
  CPPFLAGS += -DDR_CUDA=1 -I$(CUDA_HOME)/include -I$(CUDNN_INC)
  NVCCFLAGS := -std=c++17 -O3 $(GENCODE) -Xcompiler -fopenmp,-Wall -MMD -MP --expt-relaxed-constexpr
  LDLIBS += -L$(CUDA_HOME)/lib64 -L$(CUDNN_LIB) -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDNN_LIB) -lcudnn -lcublas -lcudart
else
  CPPFLAGS += -DDR_CUDA=0
endif
# oneDNN (Debian libdnnl-dev) runs the f32 CPU convolutions when its header is found;
# DNNL=0 forces a build without it (im2col + OpenBLAS only).
DNNL_INC ?= $(firstword $(wildcard /usr/include/oneapi/dnnl/dnnl.hpp))
DNNL ?= $(if $(DNNL_INC),1,0)
ifeq ($(DNNL),1)
  CPPFLAGS += -DDR_DNNL=1
  LDLIBS += -ldnnl
else
  CPPFLAGS += -DDR_DNNL=0
endif

# ---- sources ------------------------------------------------------------------
LIB_DIRS := kernels nn detector data eval train
LIB_CPP := $(shell find $(LIB_DIRS) -name '*.cpp' 2>/dev/null | sort)
LIB_CU := $(if $(filter 1,$(GPU)),$(shell find $(LIB_DIRS) -name '*.cu' 2>/dev/null | sort))
LIB_OBJ := $(LIB_CPP:%.cpp=$(BUILD)/obj/%.o) $(LIB_CU:%.cu=$(BUILD)/obj/%.cu.o)
LIB := $(BUILD)/libdr.a
TEST_SRC := $(sort $(wildcard tests/*.cpp))
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
TEST_BIN := $(BUILD)/bin/dr_tests
TOOL_SRC := $(sort $(wildcard tools/*.cpp))
TOOL_BIN := $(TOOL_SRC:tools/%.cpp=$(BUILD)/bin/%)
BENCH_SRC := $(sort $(wildcard bench/*.cpp))
BENCH_BIN := $(BENCH_SRC:bench/%.cpp=$(BUILD)/bin/bench_%)
REF_SRC := $(sort $(wildcard tools/ref/*.py))
REF_OUT := $(REF_SRC:tools/ref/%.py=$(BUILD)/ref/%.bin)
# Debian's python has the torch/torchvision packages the reference dumps need.
REF_PYTHON ?= /usr/bin/python3
PYCOCOTOOLS := pycocotools==2.0.11

DEB_PKGS := g++ make libstb-dev nlohmann-json3-dev doctest-dev libopenblas-dev libdnnl-dev \
            python3-torchvision python3-numpy python3-pip fonts-dejavu-core fonts-liberation fonts-freefont-ttf
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# `make test` / `make gpu-check` build in parallel even when called without -j (CI).
NPROC := $(shell nproc 2>/dev/null || echo 2)

# Keep tool and bench objects (make would delete them as intermediates and rebuild each time).
.SECONDARY:

.PHONY: all deps info test refs tools bench gpu-check demo clean help synth pretrain real-best real-data real-train real-tv-train real-ablations infer train finetune sweep FORCE
all: info $(LIB) $(TOOL_BIN) $(TEST_BIN) $(BENCH_BIN)

help:
	@echo "make            build the library, tools, tests and benchmarks into $(BUILD)/"
	@echo "make deps       install missing Debian packages (apt-get)"
	@echo "make test       deps + build + torch reference dumps + run every test"
	@echo "make gpu-check  run the CPU-vs-CUDA tests and a short benchmark (needs a GPU)"
	@echo "make bench      run the benchmarks (ratios against torch measured in the same run)"
	@echo "make demo       the main job end to end on the built-in synthetic data"
	@echo "make synth      synthetic house numbers: SYNTH_OUT/train(.json) + valid(.json) (docs/DATA.md)"
	@echo "make real-data  the real SVHN splits of ../shared/data linked into build/real/ (docs/DATA.md)"
	@echo "make real-train RECIPE=configs/real_digit.json [SAMPLE=N] [THREADS=n] [OUT=dir]: a docs/RESULTS.md run on build/real, then its sweep"
	@echo "make real-tv-train RUN=<our real run> [EPOCHS=n]: torchvision trained the same way (tools/tv_train.py), then its sweep"
	@echo "make pretrain   synthetic pretraining: synth --plain (PRETRAIN_COUNT=4000) -> configs/synth_pretrain.json -> PRETRAIN_OUT (build/runs/synth_pretrain)"
	@echo "make real-best  the best real-data model: pretrain -> fine-tune configs/real_best.json on build/real -> sweep -> infer svhn-real/test at the best threshold [THREADS=n]"
	@echo "make real-ablations  every ablation row of docs/RESULTS.md (configs/ablations/), one after another"
	@echo "make infer      WEIGHTS=w.bin IMAGES=dir [COCO=x.json] OUT=dir [THRESH=0.5] [INFER_ARGS=...]: pred.json + pred.csv (docs/INFER.md)"
	@echo "make train      [RECIPE=configs/digit_cpu.json] [OUT=dir] [TRAIN_JSON=.. VALID_JSON=..] [RESUME=1] [TRAIN_ARGS=...] (docs/TRAIN.md)"
	@echo "make finetune   WEIGHTS=w.bin [RECIPE=configs/seed000_finetune.json] [OUT=dir] ...: train starting from a weight file"
	@echo "make sweep      [RUN=dir | WEIGHTS=w.bin] [VALID_JSON=..]: score-threshold sweep on the validation set, best threshold by accuracy, the 16 worst images drawn"
	@echo "options: GPU=0|1 (default: 1 when nvcc exists), DNNL=0|1 (default: 1 when libdnnl-dev is installed), CUDA_ARCHS='80 90', OPT=-O2, DEBUG_SYNC=1"

info:
	@echo "[build] g++: $(shell $(CXX) -dumpversion)  nvcc: $(if $(NVCC),$(NVCC),none)  GPU=$(GPU)  archs: $(if $(filter 1,$(GPU)),$(CUDA_ARCHS)+ptx$(CUDA_PTX),-)"
	@echo "[build] cuDNN: $(if $(CUDNN_INC),$(CUDNN_INC),not found)  cuBLAS: $(if $(CUBLAS_INC),$(CUBLAS_INC),not found)"
	@echo "[build] oneDNN: $(if $(filter 1,$(DNNL)),$(DNNL_INC) (f32 CPU convolutions),not used (DNNL=0 or libdnnl-dev missing): im2col + OpenBLAS)"

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "[deps] installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	else echo "[deps] all Debian packages present"; fi
	@# pycocotools (PyPI) is the reference the COCO evaluator is cross-checked against
	@# (tools/ref/coco_eval.py). Pinned and installed without dependencies, so pip never
	@# replaces Debian's numpy (torch 1.13 needs numpy 1.x); 2.0.11 ships manylinux wheels
	@# for Debian 12's Python 3.11, so no compiler is needed.
	@if ! $(REF_PYTHON) -c "import pycocotools.cocoeval" 2>/dev/null; then \
	  echo "[deps] installing $(PYCOCOTOOLS) for $(REF_PYTHON)"; \
	  $(REF_PYTHON) -m pip install --quiet --no-deps --break-system-packages "$(PYCOCOTOOLS)" \
	    || $(REF_PYTHON) -m pip install --quiet --no-deps "$(PYCOCOTOOLS)"; \
	  $(REF_PYTHON) -c "import pycocotools.cocoeval" \
	    || { echo "[deps] pycocotools is still not importable by $(REF_PYTHON)" >&2; exit 1; }; \
	fi

# The compile flags as a file that changes only when they do (GPU=, DNNL=, OPT=, VECT=...),
# so switching them rebuilds the objects instead of linking stale ones.
FLAGS_STAMP := $(BUILD)/flags.txt
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CXX) $(CPPFLAGS) $(CXXFLAGS)' | cmp -s - $@ || echo '$(CXX) $(CPPFLAGS) $(CXXFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.cpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(TEST_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bin/bench_%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(LIB) $(LDLIBS) -o $@

# The shared modules the dumps import (editing another tool, e.g. tools/tv_train.py, which
# feeds only its own dump, does not regenerate every reference).
REF_PY_DEPS := tools/flatfile.py tools/tv_models.py tools/convert_weights.py tools/train_margins.py
$(BUILD)/ref/tv_train.bin: tools/tv_train.py $(wildcard tools/tvtrain/*.py)
$(BUILD)/ref/%.bin: tools/ref/%.py $(REF_PY_DEPS)
	@mkdir -p $(dir $@)
	$(REF_PYTHON) $< $@

refs: deps $(REF_OUT)
tools: $(TOOL_BIN)

# Tests: every doctest case; the reference dumps are produced by torch first.
test: deps
	@$(MAKE) --no-print-directory info
	@$(MAKE) --no-print-directory -j$(NPROC) $(TEST_BIN) $(TOOL_BIN) $(REF_OUT)
	DR_REF_DIR=$(BUILD)/ref DR_BIN_DIR=$(BUILD)/bin $(TEST_BIN) $(TEST_ARGS)

# Only the CPU-vs-CUDA cases (named "gpu: ...") and the short benchmark.
gpu-check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(TEST_BIN) $(BENCH_BIN) $(REF_OUT)
	DR_REF_DIR=$(BUILD)/ref DR_REQUIRE_GPU=1 $(TEST_BIN) --test-case='gpu:*'
	@for b in $(BENCH_BIN); do echo "== $$b --quick"; $$b --quick || exit 1; done

# Synthetic data -> train the digit_cpu recipe on the CPU -> infer -> eval -> plots (tools/demo.sh).
demo: deps
	@$(MAKE) --no-print-directory $(TOOL_BIN)
	BIN=$(BUILD)/bin bash tools/demo.sh

bench: deps $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done

# Synthetic house numbers in the target COCO layout (tools/synth.cpp, docs/DATA.md).
SYNTH_OUT ?= $(BUILD)/synth
SYNTH_COUNT ?= 5000
SYNTH_SEED ?= 0
synth: $(BUILD)/bin/synth
	$(BUILD)/bin/synth --out $(SYNTH_OUT) --split-name train --count $(SYNTH_COUNT) --seed $(SYNTH_SEED)
	$(BUILD)/bin/synth --out $(SYNTH_OUT) --split-name valid --count $$(( $(SYNTH_COUNT) / 10 )) --seed $$(( $(SYNTH_SEED) + 1 ))

# The real SVHN data beside the project (../shared/data, read its READMEs), linked, never
# copied (its licence): $(REAL_OUT)/train(.json) = svhn-real/train + svhn-more (3,888 images),
# $(REAL_OUT)/valid(.json) = svhn-real/valid (200). Then e.g.
#   make train RECIPE=configs/real_digit.json TRAIN_JSON=build/real/train.json VALID_JSON=build/real/valid.json
SHARED_DATA ?= ../shared/data
REAL_OUT ?= $(BUILD)/real
real-data:
	@test -f $(SHARED_DATA)/svhn-real/train.json -a -f $(SHARED_DATA)/svhn-more/labels.json || { \
	  echo "real-data: $(SHARED_DATA)/svhn-real and svhn-more not found (SHARED_DATA=dir)"; exit 1; }
	python3 tools/merge_coco.py $(REAL_OUT)/train.json $(SHARED_DATA)/svhn-real/train.json \
	  $(SHARED_DATA)/svhn-more/labels.json=$(SHARED_DATA)/svhn-more/images
	python3 tools/merge_coco.py $(REAL_OUT)/valid.json $(SHARED_DATA)/svhn-real/valid.json

# One real-data run of docs/RESULTS.md: make real-data, train RECIPE on build/real (SAMPLE=N: on a
# seeded random N of its images, for a run with a fixed time budget), then the threshold sweep
# on valid. E.g. make real-train RECIPE=configs/ablations/resnet34.json THREADS=1
THREADS ?= $(NPROC)
REAL_RUN = $(or $(OUT),$(BUILD)/runs/real/$(basename $(notdir $(RECIPE))))
REAL_TRAIN_JSON = $(if $(SAMPLE),$(REAL_OUT)/train_sample$(SAMPLE).json,$(REAL_OUT)/train.json)
real-train: $(BUILD)/bin/train $(BUILD)/bin/infer $(BUILD)/bin/eval real-data
	@if [ "$(RECIPE)" = "configs/digit_cpu.json" ]; then echo "usage: make real-train RECIPE=configs/real_digit.json [SAMPLE=N] [THREADS=n] [OUT=dir] [RESUME=1] [TRAIN_ARGS=..]"; exit 2; fi
	$(if $(SAMPLE),python3 tools/merge_coco.py --sample $(SAMPLE) --seed 0 $(REAL_TRAIN_JSON) $(REAL_OUT)/train.json)
	$(MAKE) --no-print-directory train RECIPE="$(RECIPE)" TRAIN_JSON=$(REAL_TRAIN_JSON) VALID_JSON=$(REAL_OUT)/valid.json \
	  OUT="$(REAL_RUN)" TRAIN_ARGS="--threads $(THREADS) $(TRAIN_ARGS)"
	$(MAKE) --no-print-directory sweep RUN="$(REAL_RUN)" VALID_JSON=$(REAL_OUT)/valid.json

# torchvision trained the same way as one of our real-data runs (tools/tv_train.py: its model
# config, recipe, batches and schedule; EPOCHS=n to fill the same wall-clock), then its sweep.
TV_RUN = $(or $(OUT),$(RUN)_tv)
real-tv-train: $(BUILD)/bin/infer $(BUILD)/bin/eval real-data
	@if [ ! -f "$(RUN)/settings.json" ]; then echo "usage: make real-tv-train RUN=<our run, e.g. build/runs/real/real_digit> [EPOCHS=n] [THREADS=n] [OUT=dir]"; exit 2; fi
	/usr/bin/python3 tools/tv_train.py --model-from "$(RUN)/settings.json" --out "$(TV_RUN)" \
	  --threads $(THREADS) --device cpu $(if $(EPOCHS),--epochs $(EPOCHS))
	$(MAKE) --no-print-directory sweep RUN="$(TV_RUN)" VALID_JSON=$(REAL_OUT)/valid.json

# Every ablation row of docs/RESULTS.md, one after another on one thread (about 4-5 hours on
# a 2-core machine; run two `make real-train` at a time to use both cores).
ABLATIONS ?= recipe tv_anchors v2 v2_res_fpn resnet34 resnet50 aug_000 aug_004 tv_sampling
real-ablations:
	@for r in $(ABLATIONS); do $(MAKE) --no-print-directory real-train RECIPE=configs/ablations/$$r.json THREADS=1 || exit 1; done
	$(MAKE) --no-print-directory real-train RECIPE=configs/ablations/tv_defaults.json SAMPLE=248 THREADS=1

# Synthetic pretraining (docs/TRAIN.md): PRETRAIN_COUNT plain synthetic house numbers
# (synth --plain: no clutter or cut-off neighbours, which a short run from scratch learns)
# -> configs/synth_pretrain.json -> $(PRETRAIN_OUT)/best.weights.bin, the start of real-best.
PRETRAIN_OUT ?= $(BUILD)/runs/synth_pretrain
PRETRAIN_DATA ?= $(BUILD)/pretrain_data
PRETRAIN_COUNT ?= 4000
pretrain: $(BUILD)/bin/synth $(BUILD)/bin/train
	@if [ -f "$(PRETRAIN_OUT)/best.weights.bin" ]; then echo "pretrain: $(PRETRAIN_OUT)/best.weights.bin exists (make clean, or PRETRAIN_OUT=dir)"; exit 0; fi; \
	set -e; \
	$(BUILD)/bin/synth --out $(PRETRAIN_DATA) --split-name train --count $(PRETRAIN_COUNT) --seed 10 --plain --quiet; \
	$(BUILD)/bin/synth --out $(PRETRAIN_DATA) --split-name valid --count 100 --seed 11 --plain --quiet; \
	$(BUILD)/bin/train --config configs/synth_pretrain.json --train-json $(PRETRAIN_DATA)/train.json \
	  --valid-json $(PRETRAIN_DATA)/valid.json --out $(PRETRAIN_OUT) --threads $(THREADS)

# The best real-data model of docs/RESULTS.md from a fresh clone: make pretrain -> fine-tune
# configs/real_best.json on build/real (make real-train: training, then the threshold sweep on
# valid) -> infer on svhn-real/test at the sweep's best threshold ($(REAL_BEST_RUN)/test/pred.csv).
REAL_BEST_RUN = $(or $(OUT),$(BUILD)/runs/real/real_best)
real-best: pretrain
	$(MAKE) --no-print-directory real-train RECIPE=configs/real_best.json OUT="$(REAL_BEST_RUN)" \
	  THREADS=$(THREADS) TRAIN_ARGS="--finetune $(PRETRAIN_OUT)/best.weights.bin $(TRAIN_ARGS)"
	$(BUILD)/bin/infer --weights "$(REAL_BEST_RUN)/best.weights.bin" --images $(SHARED_DATA)/svhn-real/test \
	  --out "$(REAL_BEST_RUN)/test" --quiet --score-thresh \
	  $$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sweep_best"]["threshold"])' "$(REAL_BEST_RUN)/sweep/metrics.json")

# Inference on a folder of images (tools/infer.cpp, docs/INFER.md).
infer: $(BUILD)/bin/infer
	@if [ -z "$(WEIGHTS)" ] || [ -z "$(OUT)" ] || [ -z "$(IMAGES)$(COCO)" ]; then \
	  echo "usage: make infer WEIGHTS=w.bin IMAGES=dir [COCO=x.json] OUT=dir [INFER_ARGS='--score-thresh 0.7']"; exit 2; fi
	$(BUILD)/bin/infer --weights "$(WEIGHTS)" $(if $(IMAGES),--images "$(IMAGES)") $(if $(COCO),--coco "$(COCO)") --out "$(OUT)" $(if $(THRESH),--score-thresh $(THRESH)) $(INFER_ARGS)

# Training (tools/train.cpp, docs/TRAIN.md). Defaults: the digit_cpu recipe on `make synth`
# data (made first when missing), the run in $(BUILD)/runs/<recipe>. RESUME=1 continues it.
RECIPE ?= configs/digit_cpu.json
TRAIN_JSON ?= $(SYNTH_OUT)/train.json
VALID_JSON ?= $(SYNTH_OUT)/valid.json
TRAIN_IMAGES ?=
VALID_IMAGES ?=
TRAIN_ARGS ?=
RUN ?= $(or $(OUT),$(BUILD)/runs/$(basename $(notdir $(RECIPE))))
# $(call train_cmd,RECIPE): the train command line for a recipe (the run folder follows it).
train_cmd = $(BUILD)/bin/train --config "$(1)" --train-json "$(TRAIN_JSON)" \
  $(if $(TRAIN_IMAGES),--train-images "$(TRAIN_IMAGES)") $(if $(VALID_JSON),--valid-json "$(VALID_JSON)") \
  $(if $(VALID_IMAGES),--valid-images "$(VALID_IMAGES)") \
  --out "$(or $(OUT),$(BUILD)/runs/$(basename $(notdir $(1))))" $(if $(RESUME),--resume)
FINETUNE_RECIPE = $(if $(filter command line,$(origin RECIPE)),$(RECIPE),configs/seed000_finetune.json)
.PHONY: train-data
train-data:
	@if [ "$(TRAIN_JSON)" = "$(SYNTH_OUT)/train.json" ] && [ ! -f "$(TRAIN_JSON)" ]; then \
	  $(MAKE) --no-print-directory synth; fi
train: $(BUILD)/bin/train $(BUILD)/bin/synth train-data
	$(call train_cmd,$(RECIPE)) $(TRAIN_ARGS)
finetune: $(BUILD)/bin/train $(BUILD)/bin/synth train-data
	@if [ -z "$(WEIGHTS)" ] && [ -z "$(RESUME)" ]; then echo "usage: make finetune WEIGHTS=w.bin [RECIPE=configs/seed000_finetune.json] [OUT=dir] [TRAIN_JSON=..] [VALID_JSON=..]"; exit 2; fi
	$(call train_cmd,$(FINETUNE_RECIPE)) $(if $(RESUME),,--finetune "$(WEIGHTS)") $(TRAIN_ARGS)

# Threshold sweep on the validation set with a run's best weights (or WEIGHTS=...):
# infer keeps every detection, eval --sweep prints mAP/accuracy per threshold and the best;
# visualize draws the 16 worst valid images at that threshold into $(RUN)/sweep/worst.png.
SWEEP_WEIGHTS = $(or $(WEIGHTS),$(RUN)/best.weights.bin)
SWEEP_ARGS ?= --lo 0.05 --hi 0.95 --step 0.01
sweep: $(BUILD)/bin/infer $(BUILD)/bin/eval
	$(BUILD)/bin/infer --weights "$(SWEEP_WEIGHTS)" --coco "$(VALID_JSON)" $(if $(VALID_IMAGES),--images "$(VALID_IMAGES)") --out "$(RUN)/sweep" --quiet
	$(BUILD)/bin/eval --gt "$(VALID_JSON)" --pred "$(RUN)/sweep/pred.json" --sweep $(SWEEP_ARGS) --out "$(RUN)/sweep" --errors 0
	$(BUILD)/bin/visualize --gt "$(VALID_JSON)" --images "$(or $(VALID_IMAGES),$(basename $(VALID_JSON)))" \
	  --pred "$(RUN)/sweep/pred.json" --worst 16 --grid "$(RUN)/sweep/worst.png" \
	  --threshold $$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sweep_best"]["threshold"])' "$(RUN)/sweep/metrics.json")

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
# The detector and train_step dumps reuse the backbone dump's weight randomization.
$(BUILD)/ref/detector.bin: tools/ref/backbone.py
$(BUILD)/ref/train_step.bin: tools/ref/backbone.py
