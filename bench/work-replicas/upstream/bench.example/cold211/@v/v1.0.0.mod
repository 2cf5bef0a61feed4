module bench.example/cold211

go 1.21
