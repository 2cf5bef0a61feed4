module bench.example/cold193

go 1.21
