//! The store's driver: everything about running a call that is the same on every engine.
//!
//! It calls into Wasm, runs the engine ([`Engine::run`]) until it needs help, and handles what
//! it hands back: host calls through the seam (arguments, the logged context, the observer,
//! results), debug events, pauses and their resumption, traps with their exact positions and
//! backtraces, and the call's results. It never looks at an engine's code or frames other than
//! through the [`Engine`](crate::engine::Engine) interface.

use crate::debug::{DebugAction, DebugEvent};
use crate::engine::Exit;
use crate::error::{Error, PauseReason, Result};
use crate::host::{Caller, HostCall, HostCallOutcome, HostError};
use crate::store::{FuncKind, Store};
use crate::trap::{Trap, TrapCode};
use crate::types::{Func, Val, ValType};

/// Where a call that did not fail stopped: it returned, or it paused and [`Store::resume`]
/// continues it (cf. wasmi's `ResumableCall`). A pause is a value, not an error.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Resumable {
    /// The call returned these results.
    Returned(Vec<Val>),
    /// The call is paused.
    Paused(Pause),
}

impl Resumable {
    /// The results, if the call returned.
    pub fn returned(self) -> Option<Vec<Val>> {
        match self {
            Resumable::Returned(r) => Some(r),
            Resumable::Paused(_) => None,
        }
    }

    /// The pause, if the call paused.
    pub fn paused(&self) -> Option<Pause> {
        match self {
            Resumable::Returned(_) => None,
            Resumable::Paused(p) => Some(*p),
        }
    }
}

/// A paused call: why, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// Why it paused.
    pub reason: PauseReason,
    /// Steps completed.
    pub position: u64,
}

impl<T> Store<T> {
    /// Calls `func` with `args` and runs it to completion. For a call that may pause (a step
    /// budget, breakpoints, watchpoints, or a host function's request), use
    /// [`Store::call_resumable`].
    ///
    /// # Errors
    /// [`Error::BadArguments`] if `args` do not match the signature, [`Error::Trap`],
    /// [`Error::Host`], [`Error::Exit`]; [`Error::Usage`] if the call paused (it stays paused,
    /// and [`Store::resume`] continues it).
    pub fn call(&mut self, func: Func, args: &[Val]) -> Result<Vec<Val>> {
        match self.call_resumable(func, args)? {
            Resumable::Returned(results) => Ok(results),
            Resumable::Paused(pause) => Err(paused_in_plain_call(pause)),
        }
    }

    /// Calls `func` with `args` and runs it until it returns or pauses.
    ///
    /// # Errors
    /// As [`Store::call`], except that a pause is [`Resumable::Paused`].
    pub fn call_resumable(&mut self, func: Func, args: &[Val]) -> Result<Resumable> {
        if self.inner.call.active {
            return Err(Error::Usage(
                "a call is already in progress (paused or in a host function); resume or abandon it first".into(),
            ));
        }
        let ty = self.inner.funcs[func].ty.clone();
        if args.len() != ty.params().len() {
            return Err(Error::BadArguments {
                reason: format!(
                    "expected {} arguments, got {}",
                    ty.params().len(),
                    args.len()
                ),
                ty,
            });
        }
        for (i, (a, t)) in args.iter().zip(ty.params()).enumerate() {
            if a.ty() != *t {
                return Err(Error::BadArguments {
                    reason: format!("argument {i} is {}, expected {t}", a.ty()),
                    ty,
                });
            }
            if let Err(reason) = self.inner.admit(a) {
                return Err(Error::BadArguments {
                    reason: format!("argument {i}: {reason}"),
                    ty,
                });
            }
        }
        if let FuncKind::Host { .. } = self.inner.funcs[func].kind {
            return self.call_host_directly(func, args).map(Resumable::Returned);
        }
        let FuncKind::Wasm { instance, def } = self.inner.funcs[func].kind else {
            unreachable!("host functions were handled above");
        };
        let cells: Vec<u64> = Val::to_cells(args);
        self.engine.start(&self.inner, func, instance, def, &cells);
        self.inner.pause_requested = false;
        self.inner.call = crate::store::CallState {
            results: ty.results().to_vec(),
            active: true,
            ..Default::default()
        };
        if self.inner.config.max_call_depth == 0 {
            // Entering the function is already one frame too many; no step has begun.
            return self.finish_trap(TrapCode::CallStackExhausted, 0);
        }
        self.drive()
    }

    /// Continues a paused call.
    ///
    /// # Errors
    /// As [`Store::call`]; [`Error::Usage`] if no call is paused.
    pub fn resume(&mut self) -> Result<Resumable> {
        if !self.inner.call.paused {
            return Err(Error::Usage("no paused call to resume".into()));
        }
        self.inner.call.paused = false;
        self.drive()
    }

    /// Abandons a paused call: its frames are discarded; memories, tables and globals keep
    /// what it did.
    pub fn abandon(&mut self) {
        self.engine.clear();
        let call = &mut self.inner.call;
        call.active = false;
        call.paused = false;
        call.in_host = false;
    }

    fn call_host_directly(&mut self, func: Func, args: &[Val]) -> Result<Vec<Val>> {
        let FuncKind::Host { host, ref name } = self.inner.funcs[func].kind else {
            unreachable!("only host functions are called directly");
        };
        let name = name.clone();
        let hf = self.host_funcs[host].func.clone();
        let ty = self.inner.funcs[func].ty.clone();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        let instance = self.inner.instances.keys().next_back();
        let Some(instance) = instance else {
            // Without any instance there is no memory to offer; run with a dummy caller
            // instance is impossible, so refuse.
            return Err(Error::Usage(format!(
                "cannot call host function {name} before any instance exists"
            )));
        };
        let position = self.inner.position;
        let r = hf(
            &mut Caller {
                store: self,
                instance,
            },
            args,
            &mut results,
        );
        match r {
            Ok(()) => Ok(results),
            Err(HostError::Exit(code)) => Err(Error::Exit { code, position }),
            Err(e) => Err(Error::Host {
                import: name.to_string(),
                message: e.message().unwrap_or_default(),
                position,
                source: typed(e),
            }),
        }
    }

    /// Runs the engine until the call returns, pauses, or ends.
    fn drive(&mut self) -> Result<Resumable> {
        loop {
            let exit = self.engine.run(&mut self.inner);
            let reason = match exit {
                Exit::Returned => {
                    self.inner.call.active = false;
                    let types = &self.inner.call.results;
                    let results =
                        Val::from_cells(self.engine.results(ValType::cells_of(types)), types);
                    return Ok(Resumable::Returned(results));
                }
                Exit::Host(f) => {
                    let stop_at = self.inner.stop_at;
                    let stops = self.inner.breakpoints.generation();
                    self.host_call(f)?;
                    // The host may have set stop points or a budget. A budget set before the
                    // call, and stop points set before it, are already being observed.
                    if self.inner.breakpoints.generation() != stops || self.inner.stop_at != stop_at
                    {
                        self.engine.single_step_next(&mut self.inner);
                    }
                    if !std::mem::take(&mut self.inner.pause_requested) {
                        continue;
                    }
                    self.engine.single_step_next(&mut self.inner);
                    PauseReason::HostRequest
                }
                Exit::StepBudget => PauseReason::StepBudget,
                Exit::Watchpoint(memory, addr, len) => {
                    self.inner.call.watch_write = Some((addr, len));
                    self.inner.call.watch_memory = Some(memory);
                    PauseReason::Watchpoint
                }
                Exit::Breakpoint => {
                    self.inner.call.paused = true;
                    // Whatever happens next — the handler continues, a snapshot is taken, the
                    // call is resumed — the next step is the one at this breakpoint.
                    self.engine.skip_breakpoint();
                    if self.deliver(DebugEvent::Breakpoint) == DebugAction::Continue {
                        self.inner.call.paused = false;
                        continue;
                    }
                    PauseReason::Breakpoint
                }
                Exit::Thrown(exn) => {
                    self.deliver(DebugEvent::CaughtExceptionThrown(exn));
                    continue;
                }
                Exit::HandOver => unreachable!("an engine hands over within itself"),
                Exit::Trap(code) => {
                    let uncounted = self.engine.uncounted_steps(&self.inner);
                    return self.finish_trap(code, uncounted);
                }
            };
            self.inner.call.paused = true;
            return Ok(Resumable::Paused(Pause {
                reason,
                position: self.inner.position,
            }));
        }
    }

    /// Takes the `uncounted` steps of the trapping instruction and its run off the position
    /// (the trapping instruction is not completed), delivers the event while the frames are
    /// still there, and ends the call.
    fn finish_trap(&mut self, code: TrapCode, uncounted: u64) -> Result<Resumable> {
        self.inner.position -= uncounted;
        let exn = self.inner.call.exception.take();
        let trap = Trap {
            code,
            position: self.inner.position,
            backtrace: self.backtrace(),
            exception: exn.map(|e| self.exception_display(e)),
        };
        self.inner.call.paused = false;
        match exn {
            Some(e) => self.deliver(DebugEvent::UncaughtExceptionThrown(e)),
            None => self.deliver(DebugEvent::Trap(code)),
        };
        self.abandon();
        Err(Error::Trap(trap))
    }

    /// Calls host function `f` for the innermost frame, whose arguments are on the stack.
    fn host_call(&mut self, f: Func) -> Result<()> {
        let FuncKind::Host { host, ref name } = self.inner.funcs[f].kind else {
            unreachable!("only host functions leave the loop to be called");
        };
        let name = name.clone();
        let hf = self.host_funcs[host].func.clone();
        let ty = self.inner.funcs[f].ty.clone();
        let n = ValType::cells_of(ty.params());
        let args: Vec<Val> = Val::from_cells(self.engine.host_args(n), ty.params());
        // Keep the arguments on the stack while the host runs (the debug view shows the frame
        // as it is at the call); they are popped once it returns.
        let instance = self.engine.frame(&self.inner, 0, false).instance;
        self.inner.call.in_host = true;
        // The call is not complete while the host runs.
        self.inner.position -= 1;
        if let Some(log) = &mut self.host_writes {
            log.clear();
        }
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        let r = hf(
            &mut Caller {
                store: self,
                instance,
            },
            &args,
            &mut results,
        );
        let position = self.inner.position;
        let r = r.and_then(|()| {
            for (i, (v, t)) in results.iter().zip(ty.results()).enumerate() {
                if v.ty() != *t {
                    return Err(HostError::Error(format!(
                        "host function returned {} for result {i}, expected {t}",
                        v.ty()
                    )));
                }
                if let Err(reason) = self.inner.admit(v) {
                    return Err(HostError::Error(format!(
                        "host function returned a bad result {i}: {reason}"
                    )));
                }
            }
            Ok(())
        });
        if let Some(mut observer) = self.observer.take() {
            let writes = self.host_writes.take().unwrap_or_default();
            let message = r.as_ref().err().and_then(HostError::message);
            let outcome = match (&r, &message) {
                (Ok(()), _) => HostCallOutcome::Returned(&results),
                (Err(HostError::Exit(c)), _) => HostCallOutcome::Exit(*c),
                (Err(_), m) => HostCallOutcome::Error(m.as_deref().unwrap_or_default()),
            };
            observer.on_host_call(
                &mut self.data,
                &HostCall {
                    func: f,
                    import: &name,
                    position,
                    args: &args,
                    outcome,
                    memory_writes: &writes,
                },
            );
            self.host_writes = Some(writes);
            self.observer = Some(observer);
        }
        match r {
            Ok(()) => {
                self.inner.call.in_host = false;
                let cells: Vec<u64> = Val::to_cells(&results);
                self.engine.host_return(n, &cells);
                self.inner.position += 1;
                Ok(())
            }
            Err(HostError::Exit(code)) => {
                self.inner.call.in_host = false;
                self.abandon();
                Err(Error::Exit { code, position })
            }
            Err(e) => {
                let message = e.message().unwrap_or_default();
                self.deliver(DebugEvent::HostcallError(&message));
                self.inner.call.in_host = false;
                self.abandon();
                Err(Error::Host {
                    import: name.to_string(),
                    message,
                    position,
                    source: typed(e),
                })
            }
        }
    }

    /// Delivers a debug event to the handler, if any. Without a handler, execution pauses
    /// where pausing is possible.
    fn deliver(&mut self, event: DebugEvent<'_>) -> DebugAction {
        match self.handler.take() {
            Some(mut handler) => {
                let sets = self.handler_sets;
                let action = handler.handle(self, event);
                if self.handler_sets == sets {
                    self.handler = Some(handler);
                }
                action
            }
            None => DebugAction::Pause,
        }
    }
}

fn paused_in_plain_call(pause: Pause) -> Error {
    Error::Usage(format!(
        "the call paused at position {} ({}); Store::call_resumable returns pauses as values and \
         Store::resume continues",
        pause.position, pause.reason
    ))
}

fn typed(e: HostError) -> Option<crate::host::TypedHostError> {
    match e {
        HostError::Typed(t) => Some(t),
        _ => None,
    }
}
