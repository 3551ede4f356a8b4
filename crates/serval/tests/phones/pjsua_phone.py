#!/usr/bin/env python3
"""One pjsip phone (pjsua2, the Python wheel `pjsua2-python`), driven by a line protocol.

Used by `crates/serval/tests/phones.rs`. The phone registers one account through an
outbound proxy (the server under test, by IP address: no DNS is needed), answers every
incoming call (180, then 200), and reports what happens as one line per event on stdout.

Commands, one per line on stdin:

    call URI            make a call (one call at a time)
    hangup              end the current call (BYE once confirmed, CANCEL or 603 before)
    message URI TEXT    send a MESSAGE with TEXT (text/plain)
    quit                unregister, then exit (also on end of input)

Events, one per line on stdout:

    READY ADDR                      the SIP transport is up on ADDR (HOST:PORT)
    REGISTERED CODE                 a REGISTER got CODE (2xx) and the binding is active
    UNREGISTERED CODE               the unREGISTER got CODE
    REG_FAILED CODE REASON          a REGISTER failed
    INCOMING FROM-URI               an INVITE arrived (and is being answered)
    CALL STATE CODE REASON          the call's state (CALLING, EARLY, CONNECTING,
                                    CONFIRMED, DISCONNECTED) and last status
    BYE_RECEIVED                    the other side hung up (a BYE arrived in the call)
    MESSAGE FROM-URI TEXT           a MESSAGE arrived
    MESSAGE_STATUS CODE REASON      the final response to the MESSAGE we sent
    ERROR TEXT                      a command or callback failed
    BYE                             about to exit

pjsua2 swallows exceptions raised in callbacks, so every callback catches its own and
prints ERROR instead. pjsip's own log goes to the file given by --log.
"""

import argparse
import os
import queue
import sys
import threading
import time

import pjsua2 as pj


# The events' stream: stdout as it was at start. File descriptor 1 then goes to stderr,
# for what pjlib prints before its log is configured.
EVENTS = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


def emit(*words):
    print(" ".join(str(w) for w in words), file=EVENTS, flush=True)


def one_line(text):
    if isinstance(text, pj.Error):
        text = text.info()
    return " ".join(str(text).split())


STATES = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}


class Call(pj.Call):
    def __init__(self, phone, call_id=pj.PJSUA_INVALID_ID):
        pj.Call.__init__(self, phone.account, call_id)
        self.phone = phone
        self.ended = False

    def onCallState(self, prm):
        try:
            info = self.getInfo()
            state = STATES.get(info.state, info.stateText)
            emit("CALL", state, info.lastStatusCode, one_line(info.lastReason))
            if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.ended = True
        except Exception as e:  # noqa: BLE001 - reported, never swallowed
            emit("ERROR", "onCallState:", one_line(e))

    def onCallTsxState(self, prm):
        try:
            if prm.e.type != pj.PJSIP_EVENT_TSX_STATE:
                return
            tsx = prm.e.body.tsxState.tsx
            if (
                tsx.role == pj.PJSIP_ROLE_UAS
                and tsx.method == "BYE"
                and tsx.state == pj.PJSIP_TSX_STATE_TRYING
            ):
                emit("BYE_RECEIVED")
        except Exception as e:  # noqa: BLE001
            emit("ERROR", "onCallTsxState:", one_line(e))

    def onCallMediaState(self, prm):
        pass


class Account(pj.Account):
    def __init__(self, phone):
        pj.Account.__init__(self)
        self.phone = phone

    def onRegState(self, prm):
        try:
            info = self.getInfo()
            if prm.code // 100 == 2 and info.regIsActive:
                emit("REGISTERED", prm.code)
            elif prm.code // 100 == 2:
                emit("UNREGISTERED", prm.code)
            else:
                emit("REG_FAILED", prm.code, one_line(prm.reason))
        except Exception as e:  # noqa: BLE001
            emit("ERROR", "onRegState:", one_line(e))

    def onIncomingCall(self, prm):
        try:
            call = Call(self.phone, prm.callId)
            emit("INCOMING", call.getInfo().remoteUri)
            if self.phone.call is not None:
                op = pj.CallOpParam()
                op.statusCode = 486
                call.answer(op)
                return
            self.phone.call = call
            op = pj.CallOpParam()
            op.statusCode = 180
            call.answer(op)
            # 200 on the next turn of the loop, so that 180 and 200 are two responses.
            self.phone.to_answer = call
        except Exception as e:  # noqa: BLE001
            emit("ERROR", "onIncomingCall:", one_line(e))

    def onInstantMessage(self, prm):
        try:
            emit("MESSAGE", prm.fromUri, one_line(prm.msgBody))
        except Exception as e:  # noqa: BLE001
            emit("ERROR", "onInstantMessage:", one_line(e))

    def onInstantMessageStatus(self, prm):
        try:
            emit("MESSAGE_STATUS", prm.code, one_line(prm.reason))
        except Exception as e:  # noqa: BLE001
            emit("ERROR", "onInstantMessageStatus:", one_line(e))


class Phone:
    def __init__(self, args):
        self.args = args
        self.call = None
        self.to_answer = None
        self.buddies = {}
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.userAgent = "pjsua2-phone (pjsip " + self.ep.libVersion().full + ")"
        cfg.logConfig.level = 5
        cfg.logConfig.consoleLevel = 0
        cfg.logConfig.filename = args.log
        cfg.medConfig.noVad = True
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()

        tc = pj.TransportConfig()
        tc.boundAddress = "127.0.0.1"
        tc.publicAddress = "127.0.0.1"
        tc.port = 0
        kind = pj.PJSIP_TRANSPORT_TCP if args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
        tid = self.ep.transportCreate(kind, tc)
        self.ep.libStart()
        local = self.ep.transportGetInfo(tid).localName

        tp = ";transport=tcp" if args.transport == "tcp" else ""
        ac = pj.AccountConfig()
        ac.idUri = f"sip:{args.user}@{args.domain}"
        ac.regConfig.registrarUri = f"sip:{args.domain}{tp}"
        ac.regConfig.timeoutSec = 300
        ac.regConfig.retryIntervalSec = 0
        ac.sipConfig.proxies.append(f"sip:{args.proxy};lr{tp}")
        ac.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
        ac.sipConfig.transportId = tid
        if args.auth_initial_algorithm:
            ac.sipConfig.authInitialEmpty = True
            ac.sipConfig.authInitialAlgorithm = args.auth_initial_algorithm
        ac.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        ac.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
        ac.natConfig.iceEnabled = False
        ac.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        ac.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        self.account = Account(self)
        self.account.create(ac)
        emit("READY", local)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.ep.libHandleEvents(10)
            self.tidy()

    def tidy(self):
        """What callbacks must not do themselves: answer 200, drop an ended call."""
        if self.to_answer is not None:
            call, self.to_answer = self.to_answer, None
            if not call.ended:
                op = pj.CallOpParam()
                op.statusCode = 200
                call.answer(op)
        if self.call is not None and self.call.ended:
            self.call = None

    def command(self, line):
        verb, _, rest = line.strip().partition(" ")
        if verb == "call":
            if self.call is not None:
                raise RuntimeError("a call is already up")
            call = Call(self)
            call.makeCall(rest.strip(), pj.CallOpParam(True))
            self.call = call
        elif verb == "hangup":
            if self.call is None:
                raise RuntimeError("no call to hang up")
            self.call.hangup(pj.CallOpParam())
        elif verb == "message":
            uri, _, text = rest.strip().partition(" ")
            buddy = self.buddies.get(uri)
            if buddy is None:
                bc = pj.BuddyConfig()
                bc.uri = uri
                bc.subscribe = False
                buddy = pj.Buddy()
                buddy.create(self.account, bc)
                self.buddies[uri] = buddy
            prm = pj.SendInstantMessageParam()
            prm.content = text
            buddy.sendInstantMessage(prm)
        elif verb == "quit":
            return False
        elif verb:
            raise RuntimeError(f"unknown command {verb}")
        return True

    def shutdown(self):
        if self.call is not None:
            try:
                self.call.hangup(pj.CallOpParam())
            except pj.Error:
                pass
            self.pump(0.2)
        try:
            if self.account.getInfo().regIsActive:
                self.account.setRegistration(False)
                end = time.monotonic() + 2
                while time.monotonic() < end and self.account.getInfo().regIsActive:
                    self.pump(0.05)
        except pj.Error:
            pass
        # pjsua2 objects go before the library.
        self.call = None
        self.to_answer = None
        self.buddies.clear()
        del self.account
        self.ep.libDestroy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--proxy", required=True, help="HOST:PORT of the server")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument(
        "--auth-initial-algorithm",
        help="send an empty Authorization asking for this digest algorithm (SHA-256)",
    )
    ap.add_argument("--log", required=True, help="pjsip's log file")
    args = ap.parse_args()

    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line)
        commands.put(None)

    threading.Thread(target=read_stdin, daemon=True).start()

    phone = Phone(args)
    running = True
    while running:
        phone.pump(0.02)
        while running:
            try:
                line = commands.get_nowait()
            except queue.Empty:
                break
            if line is None:
                running = False
                break
            try:
                running = phone.command(line)
            except Exception as e:  # noqa: BLE001
                emit("ERROR", one_line(line), ":", one_line(e))
    phone.shutdown()
    emit("BYE")


if __name__ == "__main__":
    main()
