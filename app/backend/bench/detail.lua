-- wrk script: GET /api/videos/<id> for pseudo-random ids of the demo catalog.
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/videos/" .. math.random(1, 1000))
end
