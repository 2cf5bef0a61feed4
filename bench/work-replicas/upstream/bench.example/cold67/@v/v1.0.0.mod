module bench.example/cold67

go 1.21
