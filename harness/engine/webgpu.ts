/**
 * onnxruntime-node's bundled WebGPU provider (Dawn: Vulkan on Linux, Metal on macOS, D3D12 on Windows):
 * why an adapter is missing, and which adapter the runs used.
 *
 * onnxruntime-node exposes neither Dawn's adapter list nor its adapter info, so both come from the
 * platform's own view of the driver Dawn sits on: the Vulkan loader and its ICD manifests and
 * `vulkaninfo` on Linux, `system_profiler` on macOS.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";

export interface AdapterDescription {
  /** The native API Dawn drives: vulkan, metal or d3d12. */
  api: string;
  vendor: string;
  /** Device name as the driver reports it, e.g. "NVIDIA GeForce RTX 4090", "llvmpipe (LLVM 15.0.6, 256 bits)". */
  device: string;
  /** discrete-gpu, integrated-gpu, virtual-gpu or cpu (a software rasteriser such as lavapipe). */
  type: string;
  /** Driver name and version, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  driver: string;
}

const VENDORS: Record<number, string> = {
  4318: "nvidia",
  4098: "amd",
  32902: "intel",
  4203: "apple",
  5045: "arm",
  20803: "qualcomm",
  6880: "google",
  65541: "mesa",
};

const LIBVULKAN = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/lib",
].map((d) => join(d, "libvulkan.so.1"));
const ICD_DIRS = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"];

const INSTALL_HINT =
  "on Debian bookworm: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1 (.ci/install-webgpu.sh does this); on an NVIDIA machine install the NVIDIA driver with its Vulkan ICD; see docs/gpu-runner.md";

function vulkanLoaderFound(): boolean {
  if (LIBVULKAN.some((p) => existsSync(p))) return true;
  const path = process.env.LD_LIBRARY_PATH ?? "";
  return path.split(":").some((d) => d && existsSync(join(d, "libvulkan.so.1")));
}

/** Installed Vulkan drivers: the library each ICD manifest names (libvulkan_lvp.so, libGLX_nvidia.so.0 …). */
export function vulkanDrivers(): string[] {
  return icdManifests().map((f) => {
    try {
      const icd = JSON.parse(readFileSync(f, "utf8")) as { ICD?: { library_path?: string } };
      return icd.ICD?.library_path ?? f;
    } catch {
      return f;
    }
  });
}

/** The loader reads only the manifests VK_DRIVER_FILES (or the older VK_ICD_FILENAMES) names, when set. */
function icdOverride(): string | undefined {
  return process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES || undefined;
}

function icdManifests(): string[] {
  const only = icdOverride();
  if (only) return only.split(":").filter((f) => f && existsSync(f));
  return ICD_DIRS.filter((d) => existsSync(d)).flatMap((d) =>
    readdirSync(d)
      .filter((n) => n.endsWith(".json"))
      .map((n) => join(d, n)),
  );
}

/**
 * Check, before Dawn is touched, that Linux has a Vulkan loader and at least one driver: Dawn writes its
 * own warnings to stderr when it finds neither, so only this check keeps the failure to one line.
 */
export function assertWebgpuDriver(): void {
  if (process.platform !== "linux") return;
  if (!vulkanLoaderFound())
    throw new UserError(`--device webgpu: no Vulkan loader (libvulkan.so.1 not found); ${INSTALL_HINT}`);
  if (vulkanDrivers().length === 0)
    throw new UserError(
      `--device webgpu: no Vulkan driver (no ICD manifest in ${icdOverride() ?? ICD_DIRS.join(", ")}); ${INSTALL_HINT}`,
    );
}

/**
 * Turn onnxruntime's "Failed to get a WebGPU adapter" (drivers present, none usable) into one line that
 * names the drivers and the fix. Other errors pass through unchanged.
 */
export function explainWebgpuError(err: unknown): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  if (!/WebGPU adapter|WebGPU device/.test(msg)) return err;
  const detail = msg.replace(/^.*?(Failed to get a WebGPU (?:adapter|device))/s, "$1").trim();
  if (process.platform === "linux")
    return new UserError(
      `--device webgpu: Dawn found no usable adapter among the Vulkan drivers (${vulkanDrivers().join(", ")}): ${detail}. Mesa older than 25 is refused; ${INSTALL_HINT}`,
    );
  return new UserError(
    `--device webgpu: ${detail} (WebGPU needs Metal on macOS, D3D12 on Windows, Vulkan on Linux)`,
  );
}

/** Parse `vulkaninfo --summary`: one entry per physical device. */
export function parseVulkanSummary(text: string): (AdapterDescription & { rank: number })[] {
  const blocks = text.split(/^GPU\d+:\s*$/m).slice(1);
  const rankOf: Record<string, number> = { "discrete-gpu": 0, "integrated-gpu": 1, "virtual-gpu": 2, cpu: 3 };
  return blocks.map((b) => {
    const field = (k: string) => b.match(new RegExp(`^\\s*${k}\\s*=\\s*(.*)$`, "m"))?.[1].trim() ?? "";
    const vendorId = Number.parseInt(field("vendorID"), 16);
    const type = field("deviceType")
      .replace(/^PHYSICAL_DEVICE_TYPE_/, "")
      .toLowerCase()
      .replace(/_/g, "-");
    const driverName = field("driverName");
    const driverInfo = field("driverInfo");
    return {
      api: "vulkan",
      vendor: VENDORS[vendorId] ?? (Number.isNaN(vendorId) ? "unknown" : `0x${vendorId.toString(16)}`),
      device: field("deviceName"),
      type: type || "unknown",
      driver: [driverName, driverInfo].filter(Boolean).join(": "),
      rank: rankOf[type] ?? 4,
    };
  });
}

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 30_000,
    });
  } catch {
    return null;
  }
}

/**
 * The adapter WebGPU runs on, as the platform describes it. On Linux Dawn asks for a high-performance
 * adapter, so a discrete GPU wins over an integrated one, and both over a software (cpu) device.
 */
export function describeAdapter(): AdapterDescription {
  if (process.platform === "darwin") {
    const out = run("system_profiler", ["SPDisplaysDataType", "-json"]);
    const gpu = out ? (JSON.parse(out).SPDisplaysDataType?.[0] ?? {}) : {};
    return {
      api: "metal",
      vendor: String(gpu.spdisplays_vendor ?? "apple").replace(/^sppci_vendor_/, ""),
      device: String(gpu.sppci_model ?? "unknown"),
      type: "integrated-gpu",
      driver: String(gpu.spdisplays_mtlgpufamilysupport ?? "metal"),
    };
  }
  const summary = run("vulkaninfo", ["--summary"]);
  const devices = summary ? parseVulkanSummary(summary).sort((a, b) => a.rank - b.rank) : [];
  if (devices.length > 0) {
    const { rank: _rank, ...best } = devices[0];
    return best;
  }
  const drivers = vulkanDrivers();
  return {
    api: process.platform === "win32" ? "d3d12" : "vulkan",
    vendor: "unknown",
    device: "unknown (vulkaninfo not installed)",
    type: "unknown",
    driver: drivers.join(", ") || "unknown",
  };
}

/** One line for logs and reports: "mesa llvmpipe (LLVM 15.0.6, 256 bits) [cpu, vulkan, llvmpipe: Mesa 25.0.7]". */
export function adapterLine(a: AdapterDescription): string {
  return `${a.vendor} ${a.device} [${a.type}, ${a.api}, ${a.driver}]`;
}
