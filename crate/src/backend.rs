//! Which burn device runs the math. burn 0.22 dispatches at run time through `Device`, so one
//! code path serves every backend; this module only names the choices and builds the device.
//!
//! Every kind is always named (the same names natively, in both wasm files and in JS), but a
//! build has only the backends its cargo features compiled in (`webgpu`, `ndarray`; natively
//! all): asking for one it lacks is [`Error::Backend`], never a different backend.

use std::{fmt, str::FromStr};

use burn::prelude::Device;
use serde::Serialize;

use crate::{Error, Result};

/// A compute backend legonet can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// legonet's fused CPU kernels for the encoder (NHWC, GEMM with bias/residual/ReLU6 fused,
    /// see `encoder::CpuLite0`); the adapters' tensor math runs on burn-flex. The default.
    Cpu,
    /// burn-flex: burn 0.22's pure-Rust CPU backend, every op through burn.
    Flex,
    /// burn-ndarray: the older CPU backend, deprecated in burn 0.22, kept to measure against.
    Ndarray,
    /// burn-wgpu: WebGPU in browsers, Vulkan/Metal/DX12 natively.
    Wgpu,
}

impl BackendKind {
    /// The CPU backend used by default (and for exact `verify()`).
    pub const CPU_DEFAULT: BackendKind = BackendKind::Cpu;

    /// All backends, for benchmarks and `--help`.
    pub const ALL: [BackendKind; 4] = [BackendKind::Cpu, BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu];

    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// Whether this backend computes on the CPU (synchronous readback works everywhere).
    pub fn is_cpu(self) -> bool {
        !matches!(self, BackendKind::Wgpu)
    }

    /// The error for a backend this build lacks.
    #[cfg(not(all(feature = "webgpu", feature = "ndarray")))]
    fn not_built(self) -> Error {
        let feature = if self == BackendKind::Wgpu { "webgpu" } else { "ndarray" };
        Error::Backend(format!("the {self} backend is not in this build (cargo feature `{feature}`)"))
    }

    /// A CPU device (no initialisation needed). Errors for [`BackendKind::Wgpu`].
    pub fn cpu_device(self) -> Result<Device> {
        match self {
            BackendKind::Cpu | BackendKind::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            BackendKind::Ndarray => Ok(Device::ndarray()),
            #[cfg(not(feature = "ndarray"))]
            BackendKind::Ndarray => Err(self.not_built()),
            BackendKind::Wgpu => Err(Error::Backend("wgpu needs asynchronous initialisation".into())),
        }
    }

    /// Builds the device, initialising wgpu if needed, and describes what runs it.
    /// Natively wgpu initialises synchronously; in the browser use [`BackendKind::init_async`].
    #[cfg(not(target_family = "wasm"))]
    pub fn init(self) -> Result<(Device, String)> {
        match self {
            #[cfg(feature = "webgpu")]
            BackendKind::Wgpu => {
                if let Some(known) = wgpu_device::get() {
                    return Ok(known);
                }
                let made = Device::wgpu_options().init_with_setup();
                wgpu_device::keep(made.map(|(device, setup)| (device, describe_adapter(&setup.adapter.get_info()))))
            }
            #[cfg(not(feature = "webgpu"))]
            BackendKind::Wgpu => Err(self.not_built()),
            cpu => Ok((cpu.cpu_device()?, cpu.name().to_string())),
        }
    }

    /// Builds the device, awaiting wgpu's adapter and device requests (required in browsers).
    pub async fn init_async(self) -> Result<(Device, String)> {
        match self {
            #[cfg(feature = "webgpu")]
            BackendKind::Wgpu => {
                if let Some(known) = wgpu_device::get() {
                    return Ok(known);
                }
                let made = Device::wgpu_options().init_with_setup_async().await;
                wgpu_device::keep(made.map(|(device, setup)| (device, describe_adapter(&setup.adapter.get_info()))))
            }
            #[cfg(not(feature = "webgpu"))]
            BackendKind::Wgpu => Err(self.not_built()),
            cpu => Ok((cpu.cpu_device()?, cpu.name().to_string())),
        }
    }
}

/// burn registers one wgpu runtime per device for the whole process (or wasm instance), and a
/// second set-up of the same device fails ("a server is still registered"): the first device is
/// kept here and every later engine shares it, as a second engine on one page must be able to.
#[cfg(feature = "webgpu")]
mod wgpu_device {
    use std::{fmt::Display, sync::Mutex};

    use burn::prelude::Device;

    use crate::{Error, Result};

    static DEVICE: Mutex<Option<(Device, String)>> = Mutex::new(None);

    /// The device set up earlier, if any.
    pub(super) fn get() -> Option<(Device, String)> {
        DEVICE.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps a device just set up. A set-up that failed because another (concurrent, on wasm)
    /// set-up won the race gives that one's device instead.
    pub(super) fn keep<E: Display>(made: std::result::Result<(Device, String), E>) -> Result<(Device, String)> {
        let mut slot = DEVICE.lock().unwrap_or_else(|e| e.into_inner());
        match (made, slot.as_ref()) {
            (Ok(made), None) => {
                *slot = Some(made.clone());
                Ok(made)
            }
            (_, Some(known)) => Ok(known.clone()),
            (Err(e), None) => Err(Error::Backend(format!("no wgpu adapter: {e}"))),
        }
    }
}

#[cfg(feature = "webgpu")]
fn describe_adapter(info: &burn::tensor::wgpu::wgpu::AdapterInfo) -> String {
    format!("wgpu {:?}: {} ({:?}, driver {})", info.backend, info.name, info.device_type, info.driver)
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(BackendKind::Cpu),
            "flex" => Ok(BackendKind::Flex),
            "ndarray" => Ok(BackendKind::Ndarray),
            "wgpu" | "webgpu" | "gpu" => Ok(BackendKind::Wgpu),
            other => Err(Error::Backend(format!("unknown backend {other:?} (cpu, flex, ndarray, wgpu)"))),
        }
    }
}
