module bench.example/cold247

go 1.21
