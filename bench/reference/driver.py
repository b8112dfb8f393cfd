"""Runs AWS's reference rotation functions (the vendored lambda_function.py files
beside this one) in one warm Python process, for bench/rotation-handler.ts.

Protocol (JSON lines): stdin gets one request per line,
    {"id": 1, "variant": "SecretsManagerRDSPostgreSQLRotationSingleUser",
     "event": {"SecretId": ..., "ClientRequestToken": ..., "Step": ...}}
and stdout answers each with
    {"id": 1, "ok": true, "ms": 12.3, "sm": {"DescribeSecret": 1, ...},
     "smMs": 4.5, "clientMs": 2.1, "connects": {"tls": {"ok": 1, "failed": 0}, "plain": {"ok": 0, "failed": 0}},
     "injected": 0, "logLines": 3}
(or "ok": false and "error"). The first line it prints is a hello with the
versions of Python and the libraries, and what was patched.

- Each variant's module is loaded once, on first use (a warm Lambda container),
  and `lambda_handler(event, None)` is called as Lambda calls it; the time of
  that call alone (time.perf_counter) is reported.
- The one patch, made when loading (the vendored files stay as upstream): the
  CA file '/etc/pki/tls/cert.pem' (Amazon Linux's bundle) becomes the file in
  REFERENCE_TLS_CA_FILE, the test CA that signed the servers' certificates.
- Secrets Manager creates version <token> with AWSPENDING, without a value,
  before it calls createSecret; moto cannot hold a version without a value.
  So when DescribeSecret's answer lacks the token of the current request, the
  token is added to VersionIdsToStages as ['AWSPENDING'] (counted in
  "injected"; no call is added). From createSecret on, the version is real.
- The time the handler spends in boto3.client(...) (it makes a new client at
  every invocation) is reported as "clientMs".
- Every Secrets Manager call is counted (botocore's before-call event, on the
  default session from which the handler's boto3.client comes), and every
  database connection attempt (pgdb.connect / pymysql.connect) with whether
  it used TLS and whether it succeeded.
- The handlers log with the root logger at INFO, as in Lambda, whose runtime
  formats each record and writes it out: here a handler with Lambda's format
  writes them to a sink that only counts lines.
"""
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import sys
import time
import traceback

import boto3
import botocore

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM_CA = "'/etc/pki/tls/cert.pem'"


class _CountingSink:
    def __init__(self):
        self.lines = 0

    def write(self, text):
        self.lines += text.count('\n')

    def flush(self):
        pass


_sink = _CountingSink()
_log_handler = logging.StreamHandler(_sink)
_log_handler.setFormatter(logging.Formatter('[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n', '%Y-%m-%dT%H:%M:%S'))


class _RequestId(logging.Filter):
    request_id = ''

    def filter(self, record):
        record.aws_request_id = _RequestId.request_id
        return True


_log_handler.addFilter(_RequestId())
logging.getLogger().addHandler(_log_handler)

# --- Secrets Manager: count calls, stand in for the value-less AWSPENDING version -------------

_state = {'token': None, 'sm': {}, 'smMs': 0.0, 'smStart': None, 'clientMs': 0.0, 'injected': 0, 'connects': None}


def _count_call(model, **kwargs):
    _state['sm'][model.name] = _state['sm'].get(model.name, 0) + 1
    _state['smStart'] = time.perf_counter()


def _time_call(**kwargs):
    if _state['smStart'] is not None:
        _state['smMs'] += (time.perf_counter() - _state['smStart']) * 1000
        _state['smStart'] = None


def _add_pending_version(parsed, **kwargs):
    token = _state['token']
    versions = parsed.get('VersionIdsToStages') if isinstance(parsed, dict) else None
    if token and isinstance(versions, dict) and token not in versions:
        versions[token] = ['AWSPENDING']
        _state['injected'] += 1


boto3.setup_default_session()
_original_client = boto3.client


def _timed_client(*args, **kwargs):
    t0 = time.perf_counter()
    try:
        return _original_client(*args, **kwargs)
    finally:
        _state['clientMs'] += (time.perf_counter() - t0) * 1000


boto3.client = _timed_client
boto3.DEFAULT_SESSION.events.register('before-call.secretsmanager', _count_call)
boto3.DEFAULT_SESSION.events.register('after-call.secretsmanager.DescribeSecret', _add_pending_version)
boto3.DEFAULT_SESSION.events.register('after-call.secretsmanager', _time_call)
boto3.DEFAULT_SESSION.events.register('after-call-error.secretsmanager', _time_call)

# --- database drivers: record every connection attempt ------------------------------------------


def _record(tls, ok):
    kind = _state['connects']['tls' if tls else 'plain']
    kind['ok' if ok else 'failed'] += 1


def _wrap_connect(module, uses_tls):
    original = module.connect

    def connect(*args, **kwargs):
        tls = uses_tls(kwargs)
        try:
            conn = original(*args, **kwargs)
        except Exception:
            _record(tls, False)
            raise
        _record(tls, True)
        return conn

    module.connect = connect


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


_versions = {'python': platform.python_version(), 'boto3': _version('boto3'), 'botocore': _version('botocore')}
try:
    import pg
    import pgdb
    _wrap_connect(pgdb, lambda kw: kw.get('sslmode') not in (None, 'disable'))
    _versions['PyGreSQL'] = _version('PyGreSQL')
    _v = pg.get_pqlib_version()
    _versions['libpq'] = '%d.%d' % (_v // 10000, _v % 10000)
except Exception as e:  # reported by the variants that need it
    _versions['PyGreSQL'] = 'unavailable: %s' % e
try:
    import pymysql
    _wrap_connect(pymysql, lambda kw: kw.get('ssl') is not None)
    _versions['PyMySQL'] = _version('PyMySQL')
except Exception as e:
    _versions['PyMySQL'] = 'unavailable: %s' % e

# --- the reference functions ---------------------------------------------------------------------

_modules = {}


def _load(variant):
    if variant in _modules:
        return _modules[variant]
    if os.sep in variant or variant.startswith('.'):
        raise ValueError('bad variant %r' % variant)
    path = os.path.join(HERE, variant, 'lambda_function.py')
    with open(path, encoding='utf-8') as f:
        source = f.read()
    found = source.count(UPSTREAM_CA)
    if found != 1:
        raise ValueError('%s: expected the CA path %s once, found it %d times' % (path, UPSTREAM_CA, found))
    source = source.replace(UPSTREAM_CA, repr(os.environ['REFERENCE_TLS_CA_FILE']))
    spec = importlib.util.spec_from_loader('reference_' + variant, loader=None, origin=path)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, path, 'exec'), module.__dict__)
    _modules[variant] = module
    return module


def _invoke(request):
    module = _load(request['variant'])
    event = request['event']
    _state.update(token=event['ClientRequestToken'], sm={}, smMs=0.0, smStart=None, clientMs=0.0, injected=0,
                  connects={'tls': {'ok': 0, 'failed': 0}, 'plain': {'ok': 0, 'failed': 0}})
    _RequestId.request_id = '%s-%s' % (event['ClientRequestToken'][:8], event['Step'])
    lines_before = _sink.lines
    result = {'id': request.get('id')}
    t0 = time.perf_counter()
    try:
        module.lambda_handler(event, None)
        result['ms'] = (time.perf_counter() - t0) * 1000
        result['ok'] = True
    except Exception as e:
        result['ms'] = (time.perf_counter() - t0) * 1000
        result['ok'] = False
        result['error'] = '%s: %s' % (type(e).__name__, e)
        result['trace'] = traceback.format_exc(limit=5)
    result.update(sm=_state['sm'], smMs=_state['smMs'], clientMs=_state['clientMs'], injected=_state['injected'], connects=_state['connects'], logLines=_sink.lines - lines_before)
    _state['token'] = None
    return result


def main():
    out = sys.stdout
    out.write(json.dumps({'hello': True, 'versions': _versions, 'patch': {UPSTREAM_CA: 'REFERENCE_TLS_CA_FILE'}}) + '\n')
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            response = _invoke(json.loads(line))
        except Exception as e:
            response = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e), 'trace': traceback.format_exc(limit=5)}
        out.write(json.dumps(response) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
