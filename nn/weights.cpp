#include "nn/weights.h"

#include <map>
#include <sstream>

namespace dr {

static bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

LoadReport load_weights(Context& ctx, Module& module, const TensorFile& file,
                        const LoadOptions& opt) {
  std::vector<NamedTensor> mine = module.named_tensors(opt.prefix);
  std::map<std::string, const Tensor*> theirs;
  for (auto& kv : file.tensors) theirs[kv.first] = &kv.second;

  std::vector<std::string> missing, mismatched, unexpected, reinit;
  std::vector<std::pair<Tensor*, const Tensor*>> copies;
  std::map<std::string, bool> known;
  for (const NamedTensor& nt : mine) {
    known[nt.name] = true;
    auto it = theirs.find(nt.name);
    if (it == theirs.end()) {
      missing.push_back(nt.name);
      continue;
    }
    const Tensor& src = *it->second;
    const Tensor& dst = *nt.tensor;
    if (src.shape() != dst.shape() || src.dtype() != dst.dtype()) {
      bool class_dep = false;
      for (auto& p : opt.class_dependent) class_dep = class_dep || starts_with(nt.name, p);
      if (opt.fine_tune && class_dep && src.dtype() == dst.dtype()) {
        reinit.push_back(nt.name);
        continue;
      }
      mismatched.push_back(nt.name + ": file " + dtype_name(src.dtype()) +
                           shape_str(src.shape()) + ", model " + dtype_name(dst.dtype()) +
                           shape_str(dst.shape()));
      continue;
    }
    copies.emplace_back(nt.tensor, &src);
  }
  for (auto& kv : file.tensors)
    if (!known.count(kv.first)) unexpected.push_back(kv.first);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::ostringstream os;
    os << file.path << ": weights do not match the model (" << missing.size() << " missing, "
       << unexpected.size() << " unexpected, " << mismatched.size() << " mis-shaped)";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      os << "\n  " << what << ":";
      for (auto& s : v) os << "\n    " << s;
    };
    list("missing from the file", missing);
    list("unexpected in the file", unexpected);
    list("shape or dtype differs", mismatched);
    if (!mismatched.empty() && !opt.fine_tune)
      os << "\n  (a different class count? load with fine-tune mode to re-initialize the "
            "box predictor)";
    DR_FAIL(os.str());
  }
  // Copy only after everything checked out, so a failed load leaves the module intact.
  for (auto& c : copies) ctx.copy(*c.first, *c.second);
  ctx.synchronize();  // the file's host buffers may be freed once we return
  LoadReport r;
  r.loaded = copies.size();
  r.reinitialized = reinit;
  return r;
}

LoadReport load_weights(Context& ctx, Module& module, const std::string& path,
                        const LoadOptions& opt) {
  return load_weights(ctx, module, read_tensor_file(path), opt);
}

void cast_floating(Context& ctx, Module& module, DType dtype) {
  DR_CHECK(dtype == DType::F32 || dtype == DType::F64,
           "cast_floating: target must be f32 or f64, got " << dtype_name(dtype));
  for (const NamedTensor& nt : module.named_tensors()) {
    Tensor& t = *nt.tensor;
    if (!t.defined() || t.dtype() == dtype ||
        (t.dtype() != DType::F32 && t.dtype() != DType::F64))
      continue;
    Tensor h = ctx.to_host(t), c = Tensor::host(t.shape(), dtype);
    for (int64_t i = 0; i < h.numel(); ++i) {
      if (dtype == DType::F64)
        c.data<double>()[i] = h.data<float>()[i];
      else
        c.data<float>()[i] = static_cast<float>(h.data<double>()[i]);
    }
    const bool rg = t.requires_grad();
    t = ctx.to(c, t.device());
    t.set_requires_grad(rg);
  }
}

std::vector<std::pair<std::string, Tensor>> state_dict(Context& ctx, const Module& module,
                                                       const std::string& prefix) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const NamedTensor& nt : module.named_tensors(prefix)) {
    DR_CHECK(nt.tensor->defined(), "state_dict: tensor '" << nt.name << "' is undefined");
    Tensor h = ctx.to_host(*nt.tensor);
    // to_host returns host tensors themselves; copy so later training cannot alias them.
    if (h.same_storage(*nt.tensor)) h = ctx.clone(h);
    out.emplace_back(nt.name, h);
  }
  return out;
}

void save_weights(Context& ctx, const Module& module, const std::string& path,
                  const nlohmann::json& meta, const std::string& prefix) {
  write_tensor_file(path, meta, state_dict(ctx, module, prefix));
}

}  // namespace dr
