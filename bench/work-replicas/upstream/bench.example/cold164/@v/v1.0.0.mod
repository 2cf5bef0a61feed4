module bench.example/cold164

go 1.21
