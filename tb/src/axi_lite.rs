//! An AXI4-Lite master for the testbenches: register writes and reads on a verilated model's
//! `s_axil_*` slave port, with seeded random delays on every valid and ready, and checks of the
//! slave's side of the protocol (a response only after both halves of a write, a read answered
//! only once, responses held until taken).

use accelgen_sim::{Model, PortId};

use crate::error::BenchError;
use crate::rng::Rng;

/// AXI response codes.
pub const OKAY: u8 = 0;
pub const SLVERR: u8 = 2;

/// Cycles a transaction may take before the driver calls it a hang.
const TIMEOUT: u64 = 1_000;

struct Ports {
    awaddr: PortId,
    awvalid: PortId,
    awready: PortId,
    wdata: PortId,
    wstrb: PortId,
    wvalid: PortId,
    wready: PortId,
    bresp: PortId,
    bvalid: PortId,
    bready: PortId,
    araddr: PortId,
    arvalid: PortId,
    arready: PortId,
    rdata: PortId,
    rresp: PortId,
    rvalid: PortId,
    rready: PortId,
}

/// Another agent on the model's ports that must see every clock cycle, also while the host waits
/// for a register transaction (the DRAM behind the core's AXI4 master).
pub trait Peripheral {
    /// Drives the agent's inputs of the model from its state (before `eval`).
    fn drive(&mut self, model: &mut Model);
    /// Samples the model's outputs after `eval` and advances one cycle (before the clock edge).
    fn observe(&mut self, model: &Model) -> Result<(), BenchError>;
}

/// No other agent.
pub struct Nothing;

impl Peripheral for Nothing {
    fn drive(&mut self, _: &mut Model) {}
    fn observe(&mut self, _: &Model) -> Result<(), BenchError> {
        Ok(())
    }
}

/// The master side of one `s_axil_*` port.
pub struct AxiLiteHost {
    ports: Ports,
    clock: PortId,
    rng: Rng,
    /// Chance per cycle that a pending valid is raised / a ready is high.
    eagerness: f64,
}

impl AxiLiteHost {
    /// Binds to `model`'s `s_axil_*` ports; `eagerness` 1.0 drives every handshake at once.
    pub fn new(model: &Model, seed: u64, eagerness: f64) -> Result<AxiLiteHost, BenchError> {
        let port = |name: &str| model.port(&format!("s_axil_{name}"));
        Ok(AxiLiteHost {
            ports: Ports {
                awaddr: port("awaddr")?,
                awvalid: port("awvalid")?,
                awready: port("awready")?,
                wdata: port("wdata")?,
                wstrb: port("wstrb")?,
                wvalid: port("wvalid")?,
                wready: port("wready")?,
                bresp: port("bresp")?,
                bvalid: port("bvalid")?,
                bready: port("bready")?,
                araddr: port("araddr")?,
                arvalid: port("arvalid")?,
                arready: port("arready")?,
                rdata: port("rdata")?,
                rresp: port("rresp")?,
                rvalid: port("rvalid")?,
                rready: port("rready")?,
            },
            clock: model.port("clk")?,
            rng: Rng::new(seed),
            eagerness,
        })
    }

    /// Drives every master output low (call before reset).
    pub fn idle(&self, model: &mut Model) {
        let p = &self.ports;
        for port in [p.awvalid, p.wvalid, p.bready, p.arvalid, p.rready] {
            model.poke(port, 0);
        }
    }

    /// Writes `data` (all four bytes) to `address`; returns the response code.
    pub fn write(&mut self, model: &mut Model, address: u32, data: u32) -> Result<u8, BenchError> {
        self.write_strobed(model, address, data, 0xf)
    }

    /// Writes the bytes of `data` that `strobe` selects to `address`; returns the response code.
    pub fn write_strobed(
        &mut self,
        model: &mut Model,
        address: u32,
        data: u32,
        strobe: u8,
    ) -> Result<u8, BenchError> {
        self.write_during(model, &mut Nothing, address, data, strobe)
    }

    /// [`AxiLiteHost::write_strobed`] with `peripheral` clocked along.
    pub fn write_during(
        &mut self,
        model: &mut Model,
        peripheral: &mut dyn Peripheral,
        address: u32,
        data: u32,
        strobe: u8,
    ) -> Result<u8, BenchError> {
        let p = &self.ports;
        model.poke(p.awaddr, u64::from(address));
        model.poke(p.wdata, u64::from(data));
        model.poke(p.wstrb, u64::from(strobe));
        let (mut aw_done, mut w_done, mut aw_up, mut w_up) = (false, false, false, false);
        for _ in 0..TIMEOUT {
            aw_up |= !aw_done && self.rng.chance(self.eagerness);
            w_up |= !w_done && self.rng.chance(self.eagerness);
            let bready = self.rng.chance(self.eagerness);
            model.poke(p.awvalid, u64::from(aw_up && !aw_done));
            model.poke(p.wvalid, u64::from(w_up && !w_done));
            model.poke(p.bready, u64::from(bready));
            peripheral.drive(model);
            model.eval();
            let bvalid = model.peek(p.bvalid) == 1;
            if bvalid && !(aw_done && w_done) {
                return Err(protocol(format!(
                    "write to {address:#x}: bvalid before the address and data were both taken"
                )));
            }
            let response = (bvalid && bready).then(|| model.peek(p.bresp) as u8);
            aw_done |= aw_up && model.peek(p.awready) == 1;
            w_done |= w_up && model.peek(p.wready) == 1;
            peripheral.observe(model)?;
            model.step(self.clock);
            if let Some(response) = response {
                self.idle(model);
                return Ok(response);
            }
        }
        Err(protocol(format!(
            "write to {address:#x}: no response in {TIMEOUT} cycles"
        )))
    }

    /// Reads `address`; returns the data and the response code.
    pub fn read(&mut self, model: &mut Model, address: u32) -> Result<(u32, u8), BenchError> {
        self.read_during(model, &mut Nothing, address)
    }

    /// [`AxiLiteHost::read`] with `peripheral` clocked along.
    pub fn read_during(
        &mut self,
        model: &mut Model,
        peripheral: &mut dyn Peripheral,
        address: u32,
    ) -> Result<(u32, u8), BenchError> {
        let p = &self.ports;
        model.poke(p.araddr, u64::from(address));
        let (mut ar_done, mut ar_up) = (false, false);
        for _ in 0..TIMEOUT {
            ar_up |= !ar_done && self.rng.chance(self.eagerness);
            let rready = self.rng.chance(self.eagerness);
            model.poke(p.arvalid, u64::from(ar_up && !ar_done));
            model.poke(p.rready, u64::from(rready));
            peripheral.drive(model);
            model.eval();
            let rvalid = model.peek(p.rvalid) == 1;
            if rvalid && !ar_done {
                return Err(protocol(format!(
                    "read of {address:#x}: rvalid before the address was taken"
                )));
            }
            let answer =
                (rvalid && rready).then(|| (model.peek(p.rdata) as u32, model.peek(p.rresp) as u8));
            ar_done |= ar_up && model.peek(p.arready) == 1;
            peripheral.observe(model)?;
            model.step(self.clock);
            if let Some(answer) = answer {
                self.idle(model);
                return Ok(answer);
            }
        }
        Err(protocol(format!(
            "read of {address:#x}: no data in {TIMEOUT} cycles"
        )))
    }

    /// Reads `address` and fails unless the answer is OKAY.
    pub fn read_ok(&mut self, model: &mut Model, address: u32) -> Result<u32, BenchError> {
        self.read_ok_during(model, &mut Nothing, address)
    }

    /// [`AxiLiteHost::read_ok`] with `peripheral` clocked along.
    pub fn read_ok_during(
        &mut self,
        model: &mut Model,
        peripheral: &mut dyn Peripheral,
        address: u32,
    ) -> Result<u32, BenchError> {
        match self.read_during(model, peripheral, address)? {
            (data, OKAY) => Ok(data),
            (_, response) => Err(protocol(format!(
                "read of {address:#x} answered {response}, expected OKAY"
            ))),
        }
    }

    /// Writes `address` and fails unless the answer is OKAY.
    pub fn write_ok(
        &mut self,
        model: &mut Model,
        address: u32,
        data: u32,
    ) -> Result<(), BenchError> {
        self.write_ok_during(model, &mut Nothing, address, data)
    }

    /// [`AxiLiteHost::write_ok`] with `peripheral` clocked along.
    pub fn write_ok_during(
        &mut self,
        model: &mut Model,
        peripheral: &mut dyn Peripheral,
        address: u32,
        data: u32,
    ) -> Result<(), BenchError> {
        match self.write_during(model, peripheral, address, data, 0xf)? {
            OKAY => Ok(()),
            response => Err(protocol(format!(
                "write to {address:#x} answered {response}, expected OKAY"
            ))),
        }
    }
}

fn protocol(message: String) -> BenchError {
    BenchError::Protocol(format!("AXI4-Lite: {message}"))
}
