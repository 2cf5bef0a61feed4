module bench.example/cold84

go 1.21
