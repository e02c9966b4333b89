"""The cache backend: Django's Redis cache, keeping its redis-py client.

Django's RedisCacheClient builds a new `redis.Redis` for every cache call; redis-py 8's
constructor copies its table of ~170 response callbacks each time, ~0.2 ms of a cached
tile's ~2 ms (bench/results.md, "unit tiles"). A client is made once per connection pool
here and kept: redis-py clients are thread-safe, and Django gives each thread its own cache
object anyway.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class KeptClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class KeptClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClient
