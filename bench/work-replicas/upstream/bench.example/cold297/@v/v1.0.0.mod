module bench.example/cold297

go 1.21
