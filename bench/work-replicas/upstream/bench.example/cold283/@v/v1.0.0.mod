module bench.example/cold283

go 1.21
