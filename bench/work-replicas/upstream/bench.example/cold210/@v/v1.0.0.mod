module bench.example/cold210

go 1.21
