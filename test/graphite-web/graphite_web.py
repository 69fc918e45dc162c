"""
The graphite-web side of the differential test (graphite-web.test.ts).

  graphite_web.py fixture WHISPER_DIR NOW   writes the whisper files both servers read
  graphite_web.py serve WHISPER_DIR STORAGE_DIR [CLUSTER_SERVERS] [HTTP_PORT] [TAGDB_HTTP_URL]
      runs graphite-web 1.1.8 in this process (Django's test client: no port, no server to wait for) and answers
      one JSON request per stdin line, {"path": "/render?..."}, with one JSON line {"status", "type", "body"}
      (body base64, so pickle and msgpack arrive intact); {"decode": "pickle"|"msgpack", "body": base64} answers
      what Python reads from those bytes (ints and floats told apart); {"functions": true} answers graphite.functions' registry
      (graphite-web's own /functions view fails on Python 3.11: inspect.getargspec is gone).

Run with Debian's /usr/bin/python3, which has graphite-web's modules (python3-django, python3-whisper, ...).
"""
import base64
import hashlib
import json
import math
import os
import sys

STEP_FINE, POINTS_FINE = 10, 6 * 360  # 10s:6h
STEP_COARSE, POINTS_COARSE = 60, 48 * 60  # 1m:48h


def tagged_path(name):
    # carbon's TaggedSeries.encode, as carillon's whisper layout writes it
    digest = hashlib.sha256(name.encode('utf-8')).hexdigest()
    return os.path.join('_tagged', digest[0:3], digest[3:6], name.replace('.', '_DOT_'))


def file_of(whisper_dir, name):
    relative = tagged_path(name) if ';' in name else name.replace('.', os.sep)
    return os.path.join(whisper_dir, relative + '.wsp')


def value_at(kind, k, t):
    """Deterministic values: kind picks the shape, k varies it between series; None is a gap."""
    i = t // STEP_FINE
    if kind == 'gauge':
        if (i + 7 * k) % 23 in (0, 1, 2):  # gaps of 3 windows
            return None
        return round(50 + 40 * math.sin(i / (17.0 + k)) + k * 3.3, 3)
    if kind == 'sparse':
        return float(i % 1000) / 8 if (i + k) % 37 == 0 else None
    if kind == 'negative':
        if i % 11 == 5:
            return None
        return round(-20 + 15 * math.cos(i / 9.0) - k * 0.25, 4)
    if kind == 'counter':
        # grows by a varying amount, resets to a small value every 97 windows, misses a window now and then
        if (i + k) % 41 == 0:
            return None
        return float((i % 97) * (3 + k) + (i % 5))
    if kind == 'integer':
        return float((i * (k + 1)) % 17 - 3)
    raise ValueError(kind)


SERIES = [
    ('servers.web01.cpu', 'gauge', 0),
    ('servers.web02.cpu', 'gauge', 1),
    ('servers.db01.cpu', 'gauge', 2),
    ('servers.web01.mem', 'integer', 0),
    ('servers.web02.mem', 'integer', 1),
    ('servers.db01.mem', 'integer', 2),
    ('counters.requests.web01', 'counter', 0),
    ('counters.requests.web02', 'counter', 1),
    ('negative.temperature', 'negative', 0),
    ('negative.balance', 'negative', 3),
    ('sparse.events', 'sparse', 0),
    ('disk.used;dc=east;host=web01', 'gauge', 3),
    ('disk.used;dc=west;host=web02', 'gauge', 4),
    ('disk.used;dc=east;host=db01', 'integer', 3),
    ('net.bytes;dc=east;host=web01;iface=eth0', 'counter', 2),
]
EMPTY_SERIES = ['servers.web03.cpu']


def fixture(whisper_dir, now):
    import whisper
    archives = [(STEP_FINE, POINTS_FINE), (STEP_COARSE, POINTS_COARSE)]
    fine_start = now - STEP_FINE * POINTS_FINE + STEP_FINE
    coarse_start = now - STEP_COARSE * POINTS_COARSE + STEP_COARSE
    for name, kind, k in SERIES:
        path = file_of(whisper_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
        whisper.create(path, archives, xFilesFactor=0.0, aggregationMethod='average')
        points = []
        # older than the fine archive: one point a minute, written straight to the coarse archive
        t = coarse_start - coarse_start % STEP_COARSE
        while t < fine_start - STEP_COARSE:
            v = value_at(kind, k, t)
            if v is not None:
                points.append((t, v))
            t += STEP_COARSE
        t = fine_start - fine_start % STEP_FINE + STEP_FINE
        while t <= now:
            v = value_at(kind, k, t)
            if v is not None:
                points.append((t, v))
            t += STEP_FINE
        whisper.update_many(path, points, now=now)
    for name in EMPTY_SERIES:
        path = file_of(whisper_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            whisper.create(path, archives, xFilesFactor=0.0, aggregationMethod='average')


SETTINGS = """
GRAPHITE_ROOT = '/usr/share/graphite-web'
STORAGE_DIR = {storage!r}
WHISPER_DIR = {whisper!r}
STANDARD_DIRS = [WHISPER_DIR]
LOG_DIR = {log!r}
INDEX_FILE = {index!r}
DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', 'NAME': {db!r}}}}}
CLUSTER_SERVERS = {cluster!r}
SECRET_KEY = 'carillon-differential-test'
TIME_ZONE = 'UTC'
DEFAULT_CACHE_DURATION = 0
{tagdb}
ALLOWED_HOSTS = ['*']
LOG_RENDERING_PERFORMANCE = False
LOG_CACHE_PERFORMANCE = False
# the render bench reads 8.6 M points: graphite-web's 6 s fetch and 3 s find defaults would refuse it
FETCH_TIMEOUT = 600
FIND_TIMEOUT = 600
"""


def describe_functions():
    from graphite.functions import SeriesFunctions
    result = {}
    for name, func in SeriesFunctions().items():
        result[name] = {
            'name': name,
            'group': getattr(func, 'group', 'Ungrouped'),
            'params': [param.toJSON() for param in func.params],
        }
    return result


def typed(value):
    """JSON that keeps Python's int/float distinction, so the test sees what a pickle or msgpack reader gets."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {'int': value}
    if isinstance(value, float):
        return {'float': value}
    if isinstance(value, bytes):
        return {'bytes': value.decode('latin-1')}
    if isinstance(value, (list, tuple)):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {str(k): typed(v) for k, v in value.items()}
    return {'unknown': repr(value)}


def decode(kind, raw):
    if kind == 'pickle':
        import pickle
        return typed(pickle.loads(raw))
    import collections
    import collections.abc
    # graphite-web's bundled umsgpack still looks for collections.Hashable (gone in Python 3.10) when it reads;
    # writing, which the server does, does not need it
    collections.Hashable = collections.abc.Hashable
    from graphite.util import msgpack
    return typed(msgpack.loads(raw))


def serve_http(port):
    """graphite-web over HTTP too, on 127.0.0.1:PORT, for what posts to it (carbon's tagMultiSeries)."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server('127.0.0.1', port, get_wsgi_application(), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()


LOCAL_TAGDB = "TAGDB = 'graphite.tags.localdatabase.LocalDatabaseTagDB'"
# graphite-web's client of a remote tag database: seriesByTag, /tags and autocomplete are asked of that server
HTTP_TAGDB = """TAGDB = 'graphite.tags.http.HttpTagDB'
TAGDB_HTTP_URL = {url!r}
TAGDB_HTTP_AUTOCOMPLETE = True"""


def serve(whisper_dir, storage_dir, cluster, http_port=None, tagdb_url=None):
    os.makedirs(os.path.join(storage_dir, 'log'), exist_ok=True)
    with open(os.path.join(storage_dir, 'carillon_gw_settings.py'), 'w') as f:
        f.write(SETTINGS.format(
            storage=storage_dir, whisper=whisper_dir.rstrip('/') + '/', log=os.path.join(storage_dir, 'log'), cluster=cluster,
            index=os.path.join(storage_dir, 'index'), db=os.path.join(storage_dir, 'graphite.db'),
            tagdb=HTTP_TAGDB.format(url=tagdb_url) if tagdb_url else LOCAL_TAGDB))
    sys.path.insert(0, storage_dir)
    os.environ['DJANGO_SETTINGS_MODULE'] = 'graphite.settings'
    os.environ['GRAPHITE_SETTINGS_MODULE'] = 'carillon_gw_settings'
    import django
    django.setup()
    from django.core.management import call_command
    call_command('migrate', run_syncdb=True, verbosity=0)
    from django.test import Client
    from graphite.storage import STORE
    # graphite-web only finds tagged series its tag database knows; carbon would have told it on write (and
    # with HTTP on, the program under test does)
    if http_port is not None:
        serve_http(http_port)
    elif not cluster:
        tagged = [name for name, _, _ in SERIES if ';' in name]
        STORE.tagdb.tag_multi_series(tagged)
    client = Client()
    sys.stdout.write(json.dumps({'ready': True}) + '\n')
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request.get('decode'):
                body = json.dumps(decode(request['decode'], base64.b64decode(request['body']))).encode()
                answer = {'status': 200, 'type': 'application/json', 'body': base64.b64encode(body).decode()}
            elif request.get('functions'):
                # as graphite-web's jsonInfinityEncoder: JSON has no Infinity (keepLastValue's default)
                body = json.dumps(describe_functions()).replace('Infinity', '1e9999').encode()
                answer = {'status': 200, 'type': 'application/json', 'body': base64.b64encode(body).decode()}
            else:
                response = client.get(request['path'])
                answer = {
                    'status': response.status_code,
                    'type': response.get('Content-Type', ''),
                    'body': base64.b64encode(response.content).decode(),
                }
        except Exception as error:  # a crash in graphite-web is an answer too: the test shows it
            answer = {'status': 599, 'type': 'text/plain', 'body': base64.b64encode(repr(error).encode()).decode()}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    if sys.argv[1] == 'fixture':
        fixture(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == 'serve':
        # optional: CLUSTER_SERVERS, comma-separated (graphite-web federating to them), an HTTP port and the URL of a
        # remote tag database (each '' for none)
        cluster = [s for s in (sys.argv[4] if len(sys.argv) > 4 else '').split(',') if s]
        http_port = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] else None
        serve(sys.argv[2], sys.argv[3], cluster, http_port, sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None)
    else:
        raise SystemExit('usage: graphite_web.py fixture WHISPER_DIR NOW | serve WHISPER_DIR STORAGE_DIR [CLUSTER_SERVERS] [HTTP_PORT] [TAGDB_HTTP_URL]')
